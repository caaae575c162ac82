//! The one integration-test binary: every test runs the real `bys-campaign` binary (and, where a
//! test needs the API, the real sandbox over loopback HTTP — as a process, or started in-process
//! on a manual clock when a test must control time). One module per feature.

mod support;

mod api;
mod counts;
mod cron;
mod daily;
mod deadlines;
mod docs;
mod ending;
mod explain;
mod export;
mod guards;
mod help;
mod layers;
mod lost;
mod memory;
mod plan;
mod report;
mod run;
mod sandbox;
mod schema;
mod sdk;
mod status;
mod validate;
mod webhook;
mod windows;
