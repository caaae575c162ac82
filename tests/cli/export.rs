//! `bys-campaign export`: the results CSV from a state file, at any time.

use std::fs;

use crate::assert_run;
use crate::support::state::midway_test as midway;
use crate::support::{Test, state};

#[test]
fn writes_the_results_csv_beside_the_campaign() {
    let test = midway().args(&["export", "campaign.yaml"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_run!(run);
    let csv = fs::read_to_string(test.path().join("results/demo.csv")).unwrap();
    // The file keeps the API's text as sent; the snapshot shows its escape character.
    assert!(csv.contains("temporary \u{1b}[31mfailure"));
    insta::assert_snapshot!("results_csv", csv.replace('\u{1b}', "<ESC>"));
}

#[test]
fn raw_to_another_file() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "out/raw.csv", "--raw"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "out/raw.csv\n");
    let csv = fs::read_to_string(test.path().join("out/raw.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[1].starts_with("1,Ana,(415) 555-0101,vip,completed,2,true,2,-asks"),
        "{csv}"
    );
    assert!(
        csv.contains("\n5,\"=HYPERLINK(\"\"http://127.0.0.1/x\"\")\",(646) 555-0105,"),
        "{csv}"
    );
}

#[test]
fn works_while_a_run_is_writing_and_sees_only_what_it_committed() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "r.csv"]);
    let conn = rusqlite::Connection::open(test.path().join("demo.state.db")).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         UPDATE contacts SET state = 'done', outcome = 'completed' WHERE key = '7';",
    )
    .unwrap();
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let csv = fs::read_to_string(test.path().join("r.csv")).unwrap();
    let seven = csv.lines().find(|l| l.starts_with("7,")).unwrap();
    assert!(
        seven.starts_with("7,Kim,(646) 555-0107,,pending,1,"),
        "{seven}"
    );
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn before_any_run_it_says_how_to_start_one() {
    let run = Test::new()
        .file("campaign.yaml", state::CAMPAIGN)
        .file("contacts.csv", state::CONTACTS)
        .args(&["export", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 66);
    assert_run!(run);
}

#[test]
fn a_state_file_of_another_campaign_is_refused() {
    let test = midway();
    let other = state::CAMPAIGN.replace("name: demo", "name: other");
    let test = test.file("other.yaml", other);
    let run = test
        .args(&["export", "other.yaml", "--state", "demo.state.db"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn a_folder_in_the_way_fails_and_leaves_nothing_behind() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "taken.csv"]);
    fs::create_dir(test.path().join("taken.csv")).unwrap();
    let run = test.run();
    assert_eq!(run.code, 1);
    assert_run!(run);
    let names: Vec<String> = fs::read_dir(test.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(names, Vec::<String>::new());
}
