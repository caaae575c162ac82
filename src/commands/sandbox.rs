//! `bys-campaign sandbox`: serves the simulator until interrupted.

use crate::exit::Exit;
use crate::sandbox::SandboxArgs;

/// Starts the sandbox server and blocks until Ctrl-C.
pub fn run(args: &SandboxArgs) -> anyhow::Result<Exit> {
    let _ = args;
    anyhow::bail!("the sandbox is not built yet (issue 3)")
}
