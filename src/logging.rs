//! Diagnostics: `tracing` events go to stderr, filtered by the `BYS_LOG` environment variable
//! (for example `BYS_LOG=debug` or `BYS_LOG=bys_campaign=trace`). Silent unless asked.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber once; later calls are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_env("BYS_LOG").unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
