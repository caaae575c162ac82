//! The state file's schema is known to the tests in one place, `support/fixture.rs`: no other
//! test file opens the state file with SQLite or writes SQL, so a change of tables or columns
//! touches the fixture alone.

use std::path::{Path, PathBuf};

use crate::support::repo;

/// What gives a line away as raw SQL against the state file, or as opening it directly. Built
/// from pieces, so that this file, which is scanned too, holds none of them whole.
fn giveaways() -> Vec<String> {
    [
        ["SEL", "ECT "],
        ["UPD", "ATE "],
        ["INS", "ERT "],
        ["DEL", "ETE "],
        ["PRA", "GMA "],
        ["CREATE ", "TABLE"],
        ["rus", "qlite"],
        [".exec", "ute("],
        [".query", "_row("],
        [".prep", "are("],
    ]
    .iter()
    .map(|pieces| pieces.concat())
    .collect()
}

/// The lines of `text` that give raw SQL away, with their numbers (1-based).
fn raw_sql(text: &str) -> Vec<(usize, String)> {
    let giveaways = giveaways();
    text.lines()
        .enumerate()
        .filter(|(_, line)| giveaways.iter().any(|g| line.contains(g.as_str())))
        .map(|(i, line)| (i + 1, line.trim().to_owned()))
        .collect()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn only_the_fixture_knows_the_schema() {
    let tests = repo().join("tests");
    let fixture = tests.join("cli/support/fixture.rs");
    let files = rust_files(&tests);
    assert!(files.contains(&fixture), "the fixture moved: {files:?}");
    assert!(files.len() > 20, "{files:?}");
    let mut found = Vec::new();
    for file in files.iter().filter(|f| **f != fixture) {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, sql) in raw_sql(&text) {
            let name = file.strip_prefix(&tests).unwrap().display();
            found.push(format!("tests/{name}:{line}: {sql}"));
        }
    }
    assert!(
        found.is_empty(),
        "raw SQL outside tests/cli/support/fixture.rs (give it a named function there):\n{}",
        found.join("\n")
    );
}

#[test]
fn raw_sql_is_recognised_and_plain_code_is_not() {
    let giveaways = giveaways();
    let (select, sqlite, query_row) = (&giveaways[0], &giveaways[6], &giveaways[8]);
    let sample = format!(
        "let db = {sqlite}::Connection::open(path).unwrap();\n\
         let n: i64 = db{query_row}\"{select}COUNT(*) FROM attempts\", [], |r| r.get(0)).unwrap();\n\
         let calls = fixture::attempts(&state).len();\n\
         assert!(stderr.contains(\"selected 3 rows; updated the state\"));\n"
    );
    let lines: Vec<usize> = raw_sql(&sample).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, [1, 2]);
}
