//! The layers of `src/`: the order written in docs/development.md ("Code layout") holds in the
//! code. A module may use only modules on lines below its own; an import that runs up or
//! sideways, or a module the block does not place, fails here with the file that makes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports that break the order and are being removed (issue 20); each must still exist, so that
/// the list only shrinks.
const BEING_REMOVED: &[(&str, &str)] = &[];

/// The crate's exported macros and the module that defines them.
const MACROS: &[(&str, &str)] = &[("out", "out"), ("outln", "out")];

/// Each module's line in the block, counted from the top.
fn layers(doc: &str) -> BTreeMap<String, usize> {
    let block = doc
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/development.md has a ```layers block");
    let mut level = BTreeMap::new();
    for (line, names) in block.lines().enumerate() {
        for name in names.split_whitespace() {
            let before = level.insert(name.to_owned(), line);
            assert!(
                before.is_none(),
                "{name} is on two lines of the layers block"
            );
        }
    }
    level
}

/// The top-level module a file of `src/` belongs to (`src/store/import.rs` → `store`); `None` for
/// the crate roots.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The library's code of a file: up to its unit tests (`#[cfg(test)] mod tests { … }`, last
/// in a file), which may set up what they test with anything; and the files of its test-only
/// modules (`#[cfg(test)] mod fixture;`), added to `test_only`.
fn library_code(file: &Path, text: &str, test_only: &mut BTreeSet<PathBuf>) -> String {
    let dir = match file.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") => file.parent().unwrap().to_owned(),
        _ => file.with_extension(""),
    };
    let mut kept = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line != "#[cfg(test)]" {
            kept.push(line);
            continue;
        }
        let Some(next) = lines.next() else { break };
        let declared = next
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .strip_prefix("mod ");
        match declared.map(|rest| rest.strip_suffix(';')) {
            Some(Some(name)) => {
                test_only.insert(dir.join(format!("{name}.rs")));
                test_only.insert(dir.join(name).join("mod.rs"));
            }
            Some(None) => break,
            None => kept.push(next),
        }
    }
    kept.join("\n")
}

/// The code of a file without its comments (doc links name modules they do not use).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // Not inside a string such as "http://…": a quote before it means a string is open.
            Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Every top-level module named by a `crate::` path in `code`, with `use crate::{a, b::c}` groups.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with('$') {
            continue; // `$crate::` inside a macro: its own module
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find("};").unwrap_or(group.len())];
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && depth == 0 && !c.is_whitespace() => {
                        out.insert(ident_at(&group[i..]).to_owned());
                        start = false;
                    }
                    _ => {}
                }
            }
            continue;
        }
        let name = ident_at(rest);
        let name = match MACROS.iter().find(|(m, _)| *m == name) {
            Some((_, module)) if rest[name.len()..].starts_with('!') => module,
            _ => name,
        };
        out.insert(name.to_owned());
    }
    out.remove("self");
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each import that breaks the order, as `file: module (line n) uses target (line m)`, and each
/// import between modules, as (module, target).
fn check(
    src: &Path,
    level: &BTreeMap<String, usize>,
    allowed: &[(&str, &str)],
) -> (Vec<String>, BTreeSet<(String, String)>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut seen = BTreeSet::new();
    let mut test_only = BTreeSet::new();
    let code: Vec<String> = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).expect("read source");
            without_comments(&library_code(file, &text, &mut test_only))
        })
        .collect();
    for (file, code) in files.iter().zip(&code) {
        if test_only.contains(file) {
            continue;
        }
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let rel = file.strip_prefix(src.parent().unwrap()).unwrap().display();
        let Some(&own) = level.get(&module) else {
            broken.push(format!(
                "{rel}: module `{module}` is not in the layers block"
            ));
            continue;
        };
        for target in crate_paths(code) {
            if target == module {
                continue;
            }
            seen.insert((module.clone(), target.clone()));
            let allowed = allowed.contains(&(module.as_str(), target.as_str()));
            match level.get(&target) {
                None => broken.push(format!(
                    "{rel}: `crate::{target}` is not in the layers block"
                )),
                Some(&theirs) if theirs <= own && !allowed => broken.push(format!(
                    "{rel}: `{module}` (line {}) uses `{target}` (line {}), which is {}",
                    own + 1,
                    theirs + 1,
                    if theirs == own {
                        "beside it"
                    } else {
                        "above it"
                    }
                )),
                Some(_) => {}
            }
        }
    }
    (broken, seen)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_module_uses_one_beside_or_above_it() {
    let doc = std::fs::read_to_string(root().join("docs/development.md")).unwrap();
    let level = layers(&doc);
    let (broken, seen) = check(&root().join("src"), &level, BEING_REMOVED);
    assert!(
        broken.is_empty(),
        "imports against the layers of docs/development.md (\"Code layout\"):\n{}",
        broken.join("\n")
    );
    for (module, target) in BEING_REMOVED {
        assert!(
            seen.contains(&(module.to_string(), target.to_string())),
            "`{module}` no longer uses `{target}`: take it off BEING_REMOVED"
        );
    }
    let placed: BTreeSet<&String> = level.keys().collect();
    let mut modules = BTreeSet::new();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for file in &files {
        modules.extend(module_of(&root().join("src"), file));
    }
    let stale: Vec<_> = placed.iter().filter(|m| !modules.contains(**m)).collect();
    assert!(
        stale.is_empty(),
        "the layers block names modules src/ does not have: {stale:?}"
    );
}

#[test]
fn an_upward_import_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("store")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod store;\npub mod state;\n").unwrap();
    std::fs::write(
        src.join("store/mod.rs"),
        "//! Keeps [`crate::runner`] out of a comment.\nuse crate::{state::{self, Wait}, runner};\n\
         #[cfg(test)]\nmod fixture;\n",
    )
    .unwrap();
    // Test code may set up with anything: a test-only module, and the unit tests of a file.
    std::fs::write(src.join("store/fixture.rs"), "use crate::runner::Runner;\n").unwrap();
    std::fs::write(
        src.join("state.rs"),
        "use crate::clock::Clock;\nfn f() { crate::outln!(\"x\"); }\n\
         #[cfg(test)]\nmod tests {\n    use crate::runner::Runner;\n}\n",
    )
    .unwrap();
    let level = layers("```layers\nrunner\nstore\nstate out\nclock\n```\n");
    let (broken, _) = check(&src, &level, &[]);
    assert_eq!(
        broken,
        [
            "src/state.rs: `state` (line 3) uses `out` (line 3), which is beside it",
            "src/store/mod.rs: `store` (line 2) uses `runner` (line 1), which is above it",
        ]
    );
}
