//! `bys-campaign completions SHELL` and `bys-campaign man`: shell completions and man pages,
//! generated from the clap definitions, so they always match `--help`.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;

use super::exit::Exit;
use crate::cli::{Cli, CompletionsArgs, ManArgs};

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if args.shell == clap_complete::Shell::Bash {
        script = mend_bash(&script);
    }
    crate::out!("{script}")?;
    Ok(Exit::Ok)
}

const BIN: &str = "bys-campaign";

/// Works around a clap_complete bug for binaries with a `-` in their name: its bash script sets
/// `cmd` to `bys__campaign__subcmd__run` while walking the words, but names the branches that
/// complete each subcommand `bys__subcmd__campaign__subcmd__run` (the `-` escaped once more), so
/// no branch matches and `run --s<TAB>` offers nothing. The branches are renamed to what `cmd`
/// holds.
fn mend_bash(script: &str) -> String {
    let walked = BIN.replace('-', "__");
    let branch = BIN.replace('-', "__subcmd__");
    script.replace(&branch, &walked)
}

pub fn man(args: &ManArgs) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    command.build();
    let Some(dir) = &args.dir else {
        crate::out!(
            "{}",
            String::from_utf8_lossy(&render(&command, "bys-campaign")?)
        )?;
        return Ok(Exit::Ok);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_page(dir, "bys-campaign", &command)?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        // The page is named bys-campaign-run, and its usage line says `bys-campaign run`.
        let sub = sub
            .clone()
            .bin_name(format!("bys-campaign {}", sub.get_name()));
        write_page(dir, &format!("bys-campaign-{}", sub.get_name()), &sub)?;
    }
    Ok(Exit::Ok)
}

fn render(command: &clap::Command, title: &str) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .title(title)
        .render(&mut page)
        .context("cannot render the man page")?;
    Ok(page)
}

fn write_page(dir: &Path, name: &str, command: &clap::Command) -> anyhow::Result<()> {
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, render(command, name)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    crate::outln!("{}", path.display())?;
    Ok(())
}
