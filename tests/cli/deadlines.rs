//! Deadlines per row (issue 19): `input.deadline_column` with `schedule.stop_before`. No first
//! call or retry is placed at or after a row's cutoff; the row ends `expired`, with its reason,
//! in `status`, `explain` and the results; `validate` reports rows already past it.
//!
//! Simulated dates are in 2099, so that the wall clock (which `validate`, and `status` on a
//! rehearsal's state file, read) never catches up with them.

use crate::support::{Test, fixture};

const CAMPAIGN: &str = "\
name: appts
input:
  path: contacts.csv
  key_column: id
  default_region: GB
  deadline_column: appointment
call:
  objective: Confirm {{ name }}'s appointment at {{ appointment }}.
schedule:
  timezone: Europe/London
  windows:
    - { days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"20:00\" }
  stop_before: 12h
retry:
  no_answer: { attempts: 3, after: 2h }
output:
  path: results.csv
";

/// London drama numbers: 0190 always completes, 0191 never answers.
const CONTACTS: &str = "\
id,name,phone,appointment
A-2001,Ana,020 7946 0191,2099-12-04 09:00
A-2002,Bea,020 7946 0190,2099-12-04 10:00
A-2003,Cal,020 7946 0191,2099-12-03 08:00
A-2004,Dan,020 7946 0191,2099-12-05 11:00
A-2005,Eve,020 7946 0192,
";

fn results(test: &Test) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(test.path().join("results.rehearsal.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Every attempt of the state file, with its contact's cutoff.
fn attempts(test: &Test) -> Vec<(String, i64, i64)> {
    fixture::attempts_with_contacts(&test.path().join("appts.rehearsal.state.db"))
        .into_iter()
        .map(|(a, c)| {
            let cutoff = c.cutoff_at.expect("every row here has a deadline");
            (a.contact_key, a.created_at, cutoff)
        })
        .collect()
}

#[test]
fn no_call_is_placed_after_a_rows_deadline_and_the_row_ends_expired() {
    // Thursday 19:00 in London, the last hour of the window. A-2001's appointment is at 09:00
    // tomorrow: calls stop at 21:00 tonight, so its retry (due two hours after an unanswered
    // call) never comes. A-2003's stopped this morning. A-2004's is on Saturday: its retry is
    // left to a later run.
    let test = Test::new()
        .file("campaign.yaml", CAMPAIGN)
        .file("contacts.csv", CONTACTS)
        .args(&[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--until-idle",
            "--start",
            "2099-12-03 19:00",
            // 100 times faster: seconds of a busy machine are minutes of the window, not hours.
            "--time-scale",
            "0.01",
        ]);
    let run = test.run();
    assert_eq!(run.code, 75, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("idle: nothing more is due now; next due at 2099-12-03T21:")
            && run
                .stderr
                .contains("(1 contact: waiting for the retry delay after an unsuccessful call)"),
        "only A-2004 is left: {}",
        run.stderr
    );
    let rows = results(&test);
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let ana = by_id("A-2001");
    assert_eq!(
        (ana["status"].as_str(), ana["attempts"].as_str()),
        ("expired", "1")
    );
    assert_eq!(ana["last_outcome"], "no_answer");
    assert_eq!(ana["next_call_at"], "never");
    assert!(
        ana["error"].contains("and calls stop at 2099-12-03 21:00 GMT (its `appointment` less schedule.stop_before 12h)"),
        "{}",
        ana["error"]
    );
    assert!(
        ana["error"].starts_with("its next call could come only at 2099-12-03 2"),
        "{}",
        ana["error"]
    );
    assert!(
        ana["reason"].starts_with("never: its next call could come only at"),
        "{}",
        ana["reason"]
    );
    let cal = by_id("A-2003");
    assert_eq!(
        (cal["status"].as_str(), cal["attempts"].as_str()),
        ("expired", "0")
    );
    assert!(
        cal["error"].starts_with("its deadline passed: calls stop at 2099-12-02 20:00 GMT"),
        "{}",
        cal["error"]
    );
    assert_eq!(by_id("A-2002")["status"], "completed");
    assert_eq!(by_id("A-2004")["status"], "pending");
    let eve = by_id("A-2005");
    assert_eq!(eve["status"], "invalid");
    assert!(
        eve["error"].contains("has an empty `appointment` (the deadline column)"),
        "{}",
        eve["error"]
    );
    for (key, created, cutoff) in attempts(&test) {
        assert!(
            created < cutoff,
            "{key} called at {created}, after its cutoff {cutoff}"
        );
    }

    // Friday morning's run calls A-2004 again; its deadline is Saturday 11:00.
    let friday = test
        .command_with(&[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--until-idle",
            "--start",
            "2099-12-04 09:00",
            "--time-scale",
            "0.01",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&friday.stderr);
    assert_eq!(friday.status.code(), Some(75), "{stderr}");
    let all = attempts(&test);
    assert_eq!(all.iter().filter(|(k, ..)| k == "A-2004").count(), 2);
    assert_eq!(
        all.iter().filter(|(k, ..)| k == "A-2001").count(),
        1,
        "never after its deadline"
    );
    for (key, created, cutoff) in all {
        assert!(
            created < cutoff,
            "{key} called at {created}, after its cutoff {cutoff}"
        );
    }

    // status and explain tell the same story.
    let status = test
        .command_with(&["status", "campaign.yaml", "--rehearsal"])
        .output()
        .unwrap();
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(
        status.contains("Rows in the CSV: 5 rows: 4 to call, 1 invalid"),
        "{status}"
    );
    assert!(status.contains("  expired          2"), "{status}");
    let explain = test
        .command_with(&["explain", "campaign.yaml", "A-2001", "--rehearsal"])
        .output()
        .unwrap();
    let explain = String::from_utf8(explain.stdout).unwrap();
    assert!(
        explain.contains("State: expired, last outcome no_answer; 1 call(s) placed"),
        "{explain}"
    );
    // The reason it expired for, kept through Friday's import.
    assert!(
        explain.contains("Next: never: its next call could come only at 2099-12-03 2")
            && explain.contains("and calls stop at 2099-12-03 21:00 GMT"),
        "{explain}"
    );
}

#[test]
fn day_before_stops_calls_at_the_start_of_the_deadlines_day() {
    // Friday 00:30: the appointment is Friday 10:00; with day_before its calls stopped at
    // midnight. Dan's, on Saturday, may still be called on Friday.
    let campaign = CAMPAIGN
        .replace("  stop_before: 12h", "  stop_before: day_before")
        .replace(
            "from: \"09:00\", to: \"20:00\"",
            "from: \"00:00\", to: \"24:00\"",
        );
    let test = Test::new()
        .file("campaign.yaml", campaign)
        .file(
            "contacts.csv",
            "id,name,phone,appointment\nB-1,Bea,020 7946 0190,2099-12-04 10:00\nB-2,Dan,020 7946 0190,2099-12-05\n",
        )
        .args(&["run", "campaign.yaml", "--sandbox", "--start", "2099-12-04 00:30"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let rows = results(&test);
    assert_eq!(rows[0]["status"], "expired", "{rows:?}");
    assert_eq!(rows[1]["status"], "completed", "{rows:?}");
}

#[test]
fn validate_reports_rows_already_past_their_deadline() {
    let contacts = "id,name,phone,appointment\n\
        1,Ana,020 7946 0101,2020-01-01 09:00\n\
        2,Wei,020 7946 0102,2099-01-01 09:00\n\
        3,Lin,020 7946 0103,2020-06-01\n\
        4,Bad,020 7946 0104,next tuesday\n";
    let run = Test::new()
        .file("campaign.yaml", CAMPAIGN)
        .file("contacts.csv", contacts)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("(4 rows: 3 to call, 1 invalid)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "Past their deadline (2): lines 2, 4\n  to call, but calls for them stop before now"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "line 5: \"next tuesday\": its `appointment` is not a date or a date and time"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn deadlines_need_a_schedule_and_stop_before_needs_a_deadline() {
    let without_schedule = CAMPAIGN[..CAMPAIGN.find("schedule:").unwrap()].to_owned()
        + "output:\n  path: results.csv\n";
    let cases = [
        (
            without_schedule,
            "`input.deadline_column` needs a `schedule`",
        ),
        (
            CAMPAIGN.replace("  deadline_column: appointment\n", ""),
            "`schedule.stop_before` needs `input.deadline_column`",
        ),
        (
            CAMPAIGN.replace("stop_before: 12h", "stop_before: the evening before"),
            "\"the evening before\" is neither a duration nor `day_before`",
        ),
    ];
    for (campaign, problem) in cases {
        let run = Test::new()
            .file("campaign.yaml", campaign)
            .file("contacts.csv", CONTACTS)
            .args(&["validate", "campaign.yaml"])
            .run();
        assert_eq!(run.code, 78, "{}", run.transcript());
        assert!(run.stderr.contains(problem), "{problem}: {}", run.stderr);
    }
}

#[test]
fn a_row_expired_for_its_retry_is_not_called_by_a_later_run_before_its_cutoff() {
    // Ana's retry would come after 21:00, when her calls stop: she expires at 19:0x. Every
    // later run imports the CSV again; none may call her, though 21:00 has not come yet.
    let test = Test::new().file("campaign.yaml", CAMPAIGN).file(
        "contacts.csv",
        "id,name,phone,appointment\nA-2001,Ana,020 7946 0191,2099-12-04 09:00\n",
    );
    let cron = |start: &str| {
        let out = test
            .command_with(&[
                "run",
                "campaign.yaml",
                "--sandbox",
                "--until-idle",
                "--start",
                start,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };
    for start in ["2099-12-03 19:00", "2099-12-03 19:15", "2099-12-03 19:30"] {
        let (code, stderr) = cron(start);
        assert_eq!(code, Some(0), "{start}: {stderr}");
        // Expired once: a later import leaves it expired, and says nothing of it.
        assert_eq!(
            stderr.contains("contact(s) expired"),
            start.ends_with("19:00"),
            "{start}: {stderr}"
        );
    }
    let calls = attempts(&test);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let ana = &results(&test)[0];
    assert_eq!(ana["status"], "expired");
    assert!(
        ana["error"].starts_with("its next call could come only at"),
        "the reason it expired for is kept: {ana:?}"
    );
    // Her appointment moves to Saturday: judged afresh, she waits for her retry.
    std::fs::write(
        test.path().join("contacts.csv"),
        "id,name,phone,appointment\nA-2001,Ana,020 7946 0191,2099-12-05 09:00\n",
    )
    .unwrap();
    let (code, stderr) = cron("2099-12-03 19:45");
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(results(&test)[0]["status"], "pending", "{stderr}");
    assert_eq!(
        attempts(&test).len(),
        1,
        "the retry waits its delay: {stderr}"
    );
}
