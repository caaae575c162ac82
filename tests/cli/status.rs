//! `bys-campaign status`: where a campaign stands, from its state file.

use crate::assert_run;
use crate::support::Test;
use crate::support::fixture::{self, midway_test as midway};

#[test]
fn human_report_with_escaped_errors() {
    let run = midway().args(&["status", "campaign.yaml"]).run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        !run.stdout.contains('\u{1b}'),
        "control characters are escaped"
    );
    assert_run!(run);
}

#[test]
fn status_summarises_the_answers() {
    let run = midway().args(&["status", "campaign.yaml"]).run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let answers = run
        .stdout
        .split("\nAnswers")
        .nth(1)
        .expect("an Answers section");
    assert!(
        answers.starts_with(", over the 1 completed call\n  confirmed: yes 1, no 0, not obtained 0\n  visits: 1 obtained (min 2, median 2, max 2), not obtained 0\n  note: 1 obtained (1 distinct), not obtained 0; most common: \"-asks for a morning slot\" 1\n"),
        "{answers}"
    );
}

#[test]
fn json_is_one_document() {
    let run = midway().args(&["status", "campaign.yaml", "--json"]).run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(
        doc["state_file"], "demo.state.db",
        "beside the campaign, as named"
    );
    insta::assert_json_snapshot!(doc);
}

#[test]
fn works_while_a_run_holds_the_state_file() {
    let test = midway().args(&["status", "campaign.yaml", "--json"]);
    let writer = fixture::uncommitted_completion(&test.path().join("demo.state.db"), "7");
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["contacts"]["active"], 1,
        "uncommitted changes are not seen"
    );
    assert_eq!(doc["in_flight"], 1);
    writer.roll_back();
}

#[test]
fn before_any_run_it_says_how_to_start_one() {
    let run = Test::new()
        .file("campaign.yaml", fixture::CAMPAIGN)
        .file("contacts.csv", fixture::CONTACTS)
        .args(&["status", "campaign.yaml", "--state", "nowhere.db"])
        .run();
    assert_eq!(run.code, 66);
    assert_run!(run);
}

#[test]
fn after_a_rehearsal_the_reading_commands_say_to_add_rehearsal() {
    let test = Test::demo();
    let rehearsed = Test::new()
        .current_dir(test.path().to_owned())
        .args(&["run", "campaign.yaml", "--sandbox"])
        .run();
    assert_eq!(rehearsed.code, 0, "{}", rehearsed.stderr);
    let mut transcripts = String::new();
    for args in [
        vec!["status", "campaign.yaml"],
        vec!["explain", "campaign.yaml", "1"],
        vec!["export", "campaign.yaml"],
    ] {
        let read = |extra: &[&str]| {
            let mut all = args.clone();
            all.extend_from_slice(extra);
            Test::new()
                .current_dir(test.path().to_owned())
                .args(&all)
                .run()
        };
        let live = read(&[]);
        assert_eq!(live.code, 66, "{}", live.transcript());
        transcripts.push_str(&live.transcript());
        // What the hint says works.
        let rehearsal = read(&["--rehearsal"]);
        assert_eq!(rehearsal.code, 0, "{}", rehearsal.transcript());
    }
    insta::assert_snapshot!(transcripts);
}
