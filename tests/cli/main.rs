//! The one integration-test binary: every test runs the real `bys-campaign` binary (and, where a
//! test needs the API, the real sandbox over loopback HTTP). One module per feature.

mod api;
mod sandbox;
mod sdk;
mod support;
