//! The README and the pages in `docs/` stay true to the tool: every command a code block shows
//! (a line starting with `bys-campaign` or `cargo run --`) parses with the real command-line
//! definitions, and every relative link, with its `#anchor`, leads somewhere.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bys_campaign::cli::Cli;
use clap::Parser;
use clap::error::ErrorKind;

use crate::support::repo;

/// README.md and every page in docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "docs/ has pages");
    pages.extend(docs);
    pages
}

fn name(page: &Path) -> String {
    page.strip_prefix(repo()).unwrap().display().to_string()
}

/// The lines of `text` inside fenced code blocks, with their line numbers; a line ending in
/// `\` is joined with the next.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        joined.push_str(line.trim());
        match joined.strip_suffix('\\') {
            Some(head) => pending = Some((start, format!("{} ", head.trim_end()))),
            None => lines.push((start, joined)),
        }
    }
    lines
}

/// Splits a shell command line into words (quotes and backslashes as a shell reads them),
/// up to a comment or the first operator (`|`, `>`, `&&`, `;`).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            '#' if word.is_none() => break,
            '|' | '>' | '<' | ';' | '&' if word.is_none() => break,
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The arguments of a `bys-campaign` invocation on this line, if it is one: after a `$ `
/// prompt and `NAME=value` assignments, `bys-campaign ARGS` or `cargo run -- ARGS`.
fn invocation(line: &str) -> Option<Vec<String>> {
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let mut words = words(line).into_iter().peekable();
    while words.peek().is_some_and(|w| {
        w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
    }) {
        words.next();
    }
    let first = words.next()?;
    let mut args = vec!["bys-campaign".to_owned()];
    match first.as_str() {
        "bys-campaign" => {}
        "cargo" => {
            if words.next()? != "run" || words.next()? != "--" {
                return None;
            }
        }
        _ => return None,
    }
    args.extend(words);
    Some(args)
}

#[test]
fn every_command_the_docs_show_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, code) in code_lines(&text) {
            let Some(args) = invocation(&code) else {
                continue;
            };
            checked += 1;
            if let Err(err) = Cli::try_parse_from(&args)
                && !matches!(
                    err.kind(),
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                )
            {
                failures.push(format!("{}:{line}: {code}\n{}", name(&page), err.render()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The quickstart alone shows four; a reader that found none would prove nothing.
    assert!(checked >= 15, "only {checked} commands found");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside code blocks); a repeated heading's get `-1`, `-2`…
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        let Some(heading) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if !line.starts_with('#') {
            continue;
        }
        let base = slug(heading);
        let n = seen.entry(base.clone()).or_default();
        anchors.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    anchors
}

/// The targets of the markdown links `[text](target)` of a page, outside code blocks.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            links.push((i + 1, after[..end].to_owned()));
            rest = &after[end..];
        }
    }
    links
}

#[test]
fn every_relative_link_in_the_docs_leads_somewhere() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            let at = format!("{}:{line}: ({target})", name(&page));
            if !file.exists() {
                failures.push(format!("{at}: {} does not exist", file.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                let target_text = std::fs::read_to_string(&file).unwrap_or_default();
                if !anchors(&target_text).contains(anchor) {
                    failures.push(format!("{at}: no heading makes #{anchor}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} links found");
}

#[test]
fn the_doc_checks_read_commands_and_anchors_as_a_shell_and_github_do() {
    assert_eq!(
        invocation(
            r#"$ BYS_API_KEY=bys_ak_x bys-campaign run c.yaml --start "2026-12-07 06:00" # why"#
        ),
        Some(vec![
            "bys-campaign".into(),
            "run".into(),
            "c.yaml".into(),
            "--start".into(),
            "2026-12-07 06:00".into()
        ])
    );
    assert_eq!(
        invocation("cargo run -- man | man -l -"),
        Some(vec!["bys-campaign".into(), "man".into()])
    );
    assert_eq!(
        invocation("cargo run --release --example runner_bench"),
        None
    );
    assert_eq!(
        invocation("*/15 * * * * cd /srv && bys-campaign run x.yaml"),
        None
    );
    assert_eq!(slug("Cron runs: `--until-idle`"), "cron-runs---until-idle");
    assert_eq!(
        slug("The sandbox: a local By Your Side API"),
        "the-sandbox-a-local-by-your-side-api"
    );
    let page = "# A\n## Flags\n```\n# not a heading\n```\n### Flags\n";
    assert_eq!(
        anchors(page).into_iter().collect::<Vec<_>>(),
        ["a", "flags", "flags-1"]
    );
}
