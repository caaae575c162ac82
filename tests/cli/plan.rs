//! `bys-campaign plan`: the requests exactly as they would be sent, and the time it would take.

use crate::assert_run;
use crate::support::{Test, repo};

fn example() -> Test {
    Test::new().current_dir(repo())
}

#[test]
fn shows_the_first_requests_and_an_estimate() {
    let run = example()
        .args(&["plan", "campaigns/appointment-confirmations.yaml"])
        .run();
    assert_eq!(run.code, 0);
    assert_run!(run);
}

#[test]
fn one_row_by_key() {
    let run = example()
        .args(&[
            "plan",
            "campaigns/appointment-confirmations.yaml",
            "--row",
            "A-1044",
        ])
        .run();
    assert_eq!(run.code, 0);
    assert_run!(run);
}

#[test]
fn a_row_that_will_not_be_called_says_why() {
    let run = example()
        .args(&[
            "plan",
            "campaigns/appointment-confirmations.yaml",
            "--row",
            "A-1028",
        ])
        .run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("Row \"A-1028\" (line 30) will not be called: \"America/Los_Angles\" is not an IANA time zone"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unknown_row_key_is_an_error() {
    let run = example()
        .args(&[
            "plan",
            "campaigns/appointment-confirmations.yaml",
            "--row",
            "A-9999",
        ])
        .run();
    assert_eq!(run.code, 1);
    assert_run!(run);
}

#[test]
fn phone_keyed_rows_can_be_named_as_written() {
    let run = Test::demo()
        .edit_campaign("  key_column: id\n", "")
        .args(&["plan", "campaign.yaml", "--row", "(212) 555-0102"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("line 3, key +12125550102 (zone America/New_York, from the number):"),
        "{}",
        run.stdout
    );
}

#[test]
fn json_output_is_one_document() {
    let run = example()
        .args(&[
            "plan",
            "campaigns/appointment-confirmations.yaml",
            "--json",
            "--show",
            "1",
        ])
        .run();
    assert_eq!(run.code, 0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    insta::assert_json_snapshot!(plan);
}

#[test]
fn needs_no_api_key_and_places_nothing() {
    // The test harness removes BYS_API_KEY; plan still works and prints the request bodies.
    let run = Test::demo()
        .args(&["plan", "campaign.yaml", "--show", "5"])
        .run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("Requests (2 of 2), each sent as POST /v1/agent/calls"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_daily_csv_is_planned_with_contacts() {
    // Tomorrow's CSV, passed as `run --contacts` will be: its rows are planned, not input.path's.
    let run = Test::demo()
        .file(
            "tomorrow.csv",
            "id,first_name,phone,date\n7,Zoe,312-555-0107,2026-12-09\n8,Sam,,2026-12-09\n",
        )
        .args(&[
            "plan",
            "campaign.yaml",
            "--contacts",
            "tomorrow.csv",
            "--json",
            "--show",
            "5",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert!(
        plan["contacts"].as_str().unwrap().ends_with("tomorrow.csv"),
        "{plan:#}"
    );
    assert_eq!(plan["census"]["rows"], 2, "{plan:#}");
    assert_eq!(plan["census"]["to_call"], 1, "{plan:#}");
    let objective = plan["requests"][0]["body"]["objective"].as_str().unwrap();
    assert!(objective.contains("Zoe"), "{plan:#}");
}
