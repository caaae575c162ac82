//! `bys-campaign run` (being built: issue 4).

use crate::cli::RunArgs;
use crate::exit::Exit;

pub fn run(args: &RunArgs) -> anyhow::Result<Exit> {
    let _ = args;
    anyhow::bail!("`run` is not built yet")
}
