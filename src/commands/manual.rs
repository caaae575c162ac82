//! `bys-campaign completions SHELL` and `bys-campaign man`: shell completions and man pages,
//! generated from the clap definitions, so they always match `--help`.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::Exit;

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "bys-campaign", &mut script);
    crate::out!("{}", String::from_utf8_lossy(&script))?;
    Ok(Exit::Ok)
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
