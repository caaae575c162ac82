//! A new CSV every day (issue 19): `run --contacts FILE` or `{date}` in `input.path`. Rows no
//! longer in the CSV are never called again: `removed` when never called, their results kept
//! otherwise; the default results and counts are today's rows; `status` shows the history apart.
//! And the rehearsal the issue is done with: a daily appointment campaign from cron over a
//! simulated week.
//!
//! Simulated dates are in 2099, so that the wall clock never catches up with them.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::support::Test;

const CAMPAIGN: &str = "\
name: appts
input:
  path: appts.csv
  key_column: id
  default_region: GB
call:
  objective: Confirm {{ name }}'s appointment.
schedule:
  timezone: Europe/London
retry:
  no_answer: { attempts: 3, after: 2h }
output:
  path: results.csv
";

fn results(test: &Test) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(test.path().join("results.rehearsal.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .map(str::to_owned)
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn stdout_of(test: &Test, args: &[&str]) -> (i32, String, String) {
    let out = test.command_with(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A cron run of the rehearsal on `date` at 10:00 with `--contacts csv`.
fn day(test: &Test, csv: &str, date: &str) -> (i32, String, String) {
    let start = format!("{date} 10:00");
    stdout_of(
        test,
        &[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--until-idle",
            "--contacts",
            csv,
            "--start",
            &start,
        ],
    )
}

#[test]
fn run_contacts_imports_the_days_csv_and_rows_left_out_are_removed() {
    // Monday: one call a day. Ana is called; Bea and Cal wait.
    let test = Test::new()
        .file(
            "campaign.yaml",
            CAMPAIGN.replace("retry:", "limits:\n  max_calls_per_day: 1\nretry:"),
        )
        .file(
            "monday.csv",
            "id,name,phone\nA,Ana,020 7946 0190\nB,Bea,020 7946 0191\nC,Cal,020 7946 0192\n",
        )
        .file("tuesday.csv", "id,name,phone\nD,Dan,020 7946 0190\n");
    let (code, _, stderr) = day(&test, "monday.csv", "2099-12-07");
    assert_eq!(code, 75, "{stderr}");
    assert!(
        stderr.contains("contacts: 3 rows: 3 to call in monday.csv"),
        "{stderr}"
    );

    // Tuesday's CSV has only Dan: Bea and Cal were never called, and never will be.
    let (code, _, stderr) = day(&test, "tuesday.csv", "2099-12-08");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("contacts: 1 row: 1 to call in tuesday.csv (1 new, 0 edited, 3 removed since the last run)"),
        "{stderr}"
    );
    // The results are today's rows.
    let rows = results(&test);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["id"].as_str(), rows[0]["status"].as_str()),
        ("D", "completed")
    );
    // The history: Ana's call, with --all.
    let (code, _, stderr) = stdout_of(
        &test,
        &[
            "export",
            "campaign.yaml",
            "--rehearsal",
            "--all",
            "-o",
            "all.csv",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 row: 1 to call, and 1 called earlier and no longer in the CSV (--all)"),
        "{stderr}"
    );
    let all = std::fs::read_to_string(test.path().join("all.csv")).unwrap();
    assert!(all.contains("\nA,Ana,020 7946 0190,completed,1,"), "{all}");
    assert!(
        !all.contains("Bea") && !all.contains("Cal"),
        "never called: {all}"
    );
    // status: today's rows, then the history apart.
    let (_, status, _) = stdout_of(&test, &["status", "campaign.yaml", "--rehearsal"]);
    assert!(
        status.contains("Rows in the CSV: 1 row: 1 to call\n  completed        1\n"),
        "{status}"
    );
    assert!(
        status.contains("History: 3 contacts of earlier imports no longer in the CSV, never called again: completed 1, removed 2"),
        "{status}"
    );
    let (_, explain, _) = stdout_of(&test, &["explain", "campaign.yaml", "B", "--rehearsal"]);
    assert!(explain.contains("State: removed"), "{explain}");
    assert!(
        explain.contains("never again: the row is no longer in the CSV"),
        "{explain}"
    );
    let conn = Connection::open(test.path().join("appts.rehearsal.state.db")).unwrap();
    let calls: i64 = conn
        .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(calls, 2, "Ana on Monday, Dan on Tuesday");
}

#[test]
fn a_date_in_input_path_reads_the_days_csv() {
    let test = Test::new()
        .file(
            "campaign.yaml",
            CAMPAIGN.replace("path: appts.csv", "path: appts-{date}.csv"),
        )
        .file(
            "appts-2099-12-07.csv",
            "id,name,phone\nA,Ana,020 7946 0190\n",
        )
        .file(
            "appts-2099-12-08.csv",
            "id,name,phone\nB,Bea,020 7946 0190\n",
        );
    for (day, id) in [("2099-12-07", "A"), ("2099-12-08", "B")] {
        let (code, _, stderr) = stdout_of(
            &test,
            &[
                "run",
                "campaign.yaml",
                "--sandbox",
                "--until-idle",
                "--start",
                &format!("{day} 10:00"),
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(&format!("contacts: 1 row: 1 to call in appts-{day}.csv")),
            "{stderr}"
        );
        assert_eq!(results(&test)[0]["id"], id);
    }
    // Reading commands use the latest day's CSV when today's (by the wall clock) is not there.
    let (code, status, stderr) = stdout_of(&test, &["status", "campaign.yaml", "--rehearsal"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        status.contains("Rows in the CSV: 1 row: 1 to call"),
        "{status}"
    );
    // validate takes the day's CSV by name.
    let (code, report, stderr) = stdout_of(
        &test,
        &[
            "validate",
            "campaign.yaml",
            "--contacts",
            "appts-2099-12-07.csv",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        report.contains("appts-2099-12-07.csv (1 row: 1 to call)"),
        "{report}"
    );
}
