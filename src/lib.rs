//! bys-campaign: outbound AI phone-call campaigns on the By Your Side Agent API.
//!
//! How a row becomes a call becomes a result:
//! - [`campaign`] reads the YAML campaign file and validates it into a typed [`campaign::Campaign`];
//! - [`contacts`] streams the contacts CSV, normalises phone numbers and assigns row identities;
//! - [`render`] turns a contact into the exact `POST /v1/agent/calls` request body;
//! - [`api`] is the typed HTTP client of the API and the classification of its errors;
//! - [`sandbox`] is a faithful simulator of the API, for tests and rehearsals;
//! - [`clock`] is the simulated clock the sandbox (and the runner) run on;
//! - [`webhook`] signs and verifies the API's `X-BYS-Signature` webhook header;
//! - [`schedule`] finds each contact's time zone and decides when its calling window is open;
//! - [`state`] holds the contact and attempt lifecycles; [`store`] keeps them in SQLite;
//! - [`export`] writes the results CSV from the state file;
//! - [`cli`] and [`commands`] are the command line; [`commands::exit`] is the one table of exit codes.

pub mod api;
pub mod atomic;
pub mod campaign;
pub mod census;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod contacts;
pub mod csvfile;
pub mod export;
pub mod fate;
pub mod logging;
pub mod out;
pub mod phone;
pub mod progress;
pub mod render;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod schedule;
pub mod state;
pub mod store;
pub mod template;
pub mod text;
pub mod webhook;
pub mod zones;
