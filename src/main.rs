//! The `bys-campaign` binary: parse the command line, run the command, turn the outcome into an
//! exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bys_campaign::cli::Cli::parse();
    bys_campaign::logging::init();
    match bys_campaign::commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            if !bys_campaign::commands::exit::is_broken_pipe(&err) {
                eprintln!(
                    "error: {}",
                    bys_campaign::commands::exit::render_error(&err)
                );
            }
            bys_campaign::commands::exit::code_for(&err).into()
        }
    }
}
