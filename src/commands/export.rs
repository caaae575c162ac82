//! `bys-campaign export` (being built: issue 4).

use crate::cli::ExportArgs;
use crate::exit::Exit;

pub fn run(args: &ExportArgs) -> anyhow::Result<Exit> {
    let _ = args;
    anyhow::bail!("`export` is not built yet")
}
