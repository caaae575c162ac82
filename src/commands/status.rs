//! `bys-campaign status` (being built: issue 4).

use crate::cli::StatusArgs;
use crate::exit::Exit;

pub fn run(args: &StatusArgs) -> anyhow::Result<Exit> {
    let _ = args;
    anyhow::bail!("`status` is not built yet")
}
