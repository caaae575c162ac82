//! A faithful, deterministic simulator of the By Your Side Agent API (issue 3).

/// Options of `bys-campaign sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}
