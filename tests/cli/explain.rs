//! `bys-campaign explain`: one contact's history, and why and when it is called next.

use crate::assert_run;
use crate::run::{run_to_end, runner};
use crate::support::fixture::{self, midway_test as midway};
use crate::support::{SandboxProcess, Test};

fn explain(test: &Test, key: &str) -> crate::support::Run {
    Test::new()
        .current_dir(test.path().to_owned())
        .args(&["explain", "campaign.yaml", key])
        .run()
}

#[test]
fn a_contact_completed_on_its_second_call() {
    let test = midway();
    let run = explain(&test, "1");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_run!(run);
}

#[test]
fn a_contact_waiting_after_a_refused_placement_with_escaped_errors() {
    let test = midway();
    let run = explain(&test, "4");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        !run.stdout.contains('\u{1b}'),
        "control characters are escaped"
    );
    assert_run!(run);
}

#[test]
fn why_contacts_are_never_called_again() {
    let test = midway();
    let mut out = String::new();
    for key in ["2", "5", "6", "3"] {
        let run = explain(&test, key);
        out.push_str(&format!("$ explain {key}\n{}\n", run.transcript()));
    }
    insta::with_settings!({ filters => vec![(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]")] }, {
        insta::assert_snapshot!(out);
    });
}

#[test]
fn an_unknown_contact_whose_call_may_still_be_going_on_says_until_when() {
    let test = midway();
    let held = "2099-01-01T12:00:00Z".parse().unwrap();
    fixture::set_due_at(&test.path().join("demo.state.db"), "2", held);
    let run = explain(&test, "2");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains(
            "Next: never, unless a run is given --retry-unknown after 2099-01-01T12:00:00Z \
             (until then its call may still be going on, and no row with its number is called)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unknown_key_is_named_with_close_keys() {
    let test = midway();
    let run = explain(&test, "11");
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_run!(run);
    let run = explain(&test, "nobody-at-all");
    assert!(
        run.stderr.contains("hint: keys are the `id` column"),
        "{}",
        run.stderr
    );
}

#[test]
fn after_a_real_run_every_attempt_status_and_result_is_shown() {
    let test = Test::new()
        .file(
            "campaign.yaml",
            "\
name: explained
input:
  path: contacts.csv
  default_region: US
call:
  objective: Confirm {{ first_name }}'s appointment.
fields:
  - { name: confirmed, type: boolean }
retry:
  no_answer: { attempts: 2, after: 1m }
output:
  path: results.csv
",
        )
        .file("contacts.csv", "first_name,phone\nAna,415-555-0198\n");
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "1"]);
    let done = run_to_end(runner(&test, &sandbox.base_url));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    // No key column: the number, written as in the CSV.
    let run = explain(&test, "(415) 555-0198");
    assert_eq!(run.code, 0, "{}", run.transcript());
    let text = &run.stdout;
    assert!(
        text.starts_with("Contact +14155550198 (line 2 of "),
        "{text}"
    );
    assert!(
        text.contains("State: done, last outcome completed; 2 call(s) placed"),
        "{text}"
    );
    assert!(
        text.contains("Next: never again: the call was completed"),
        "{text}"
    );
    assert!(
        text.contains("\nAttempt 1 (#1), ") && text.contains("\nAttempt 2 (#2), "),
        "{text}"
    );
    assert_eq!(
        text.matches("  request: {\"to\":\"+14155550198\"").count(),
        2,
        "{text}"
    );
    assert!(text.contains(" status   no_answer\n"), "{text}");
    assert!(text.contains(" status   completed\n"), "{text}");
    assert!(text.contains("  extracted: confirmed="), "{text}");
}

#[test]
fn after_a_real_run_snapshot_with_times_ids_and_polls_filtered() {
    let test = Test::new()
        .file(
            "campaign.yaml",
            "\
name: snap
input:
  path: contacts.csv
  key_column: id
  default_region: US
call:
  objective: Confirm {{ first_name }}'s appointment.
fields:
  - { name: confirmed, type: boolean }
retry:
  no_answer: { attempts: 2, after: 1m }
output:
  path: results.csv
",
        )
        .file(
            "contacts.csv",
            "id,first_name,phone\nA-1,Ana,415-555-0198\n",
        );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "1"]);
    let done = run_to_end(runner(&test, &sandbox.base_url));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let run = explain(&test, "A-1");
    assert_eq!(run.code, 0, "{}", run.transcript());
    // Times and call ids change with every run; so do the statuses a poll happens to see
    // before the end, and the number of polls. The rest is the same for a given seed.
    insta::with_settings!({ filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[ID]"),
        (r"(?m)^  \[TIME\]  status   (queued|ringing|in_progress)\n", ""),
        (r"; \d+ poll\(s\)", "; [N] poll(s)"),
    ]}, {
        insta::assert_snapshot!(run.stdout);
    });
}
