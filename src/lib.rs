//! bys-campaign: outbound AI phone-call campaigns on the By Your Side Agent API.
//!
//! The modules are layers, read top-down, each using only those below it: `commands`, `cli`,
//! `runner`/`export`/`report`, then `render`, `contacts`, `store`, `state`, `campaign`, `api` and
//! the small words at the bottom. docs/development.md ("Code layout") has the whole order and
//! how a row becomes a call becomes a result; `tests/cli/layers.rs` holds the code to it.

pub mod answers;
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
pub mod html_report;
pub mod logging;
pub mod out;
pub mod phone;
pub mod progress;
pub mod render;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod scan;
pub mod schedule;
pub mod state;
pub mod store;
pub mod template;
pub mod text;
pub mod webhook;
pub mod zones;
