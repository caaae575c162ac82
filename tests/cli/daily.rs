//! A new CSV every day (issue 19): `run --contacts FILE` or `{date}` in `input.path`. Rows no
//! longer in the CSV are never called again: `removed` when never called, their results kept
//! otherwise; the default results and counts are today's rows; `status` shows the history apart.
//! And the rehearsal the issue is done with: a daily appointment campaign from cron over a
//! simulated week.
//!
//! Simulated dates are in 2099, so that the wall clock never catches up with them.

use std::collections::BTreeMap;

use crate::support::{Test, fixture};

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
    // Monday: two calls a day. Ana completes, Bea does not answer and waits for her retry, Cal
    // waits for his first call.
    let test = Test::new()
        .file(
            "campaign.yaml",
            CAMPAIGN.replace("retry:", "limits:\n  max_calls_per_day: 2\nretry:"),
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

    // Tuesday's CSV has only Dan: Bea and Cal are never called again.
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
        stderr.contains("1 row: 1 to call, and 2 called earlier and no longer in the CSV (--all)"),
        "{stderr}"
    );
    let all = std::fs::read_to_string(test.path().join("all.csv")).unwrap();
    assert!(all.contains("\nA,Ana,020 7946 0190,completed,1,"), "{all}");
    // Bea is removed, and keeps her call's story: its outcome and the number it dialled.
    let mut reader = csv::Reader::from_reader(all.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let bea = reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[0] == "B")
        .expect("Bea was called: she is history");
    assert_eq!(
        (
            &bea[col("status")],
            &bea[col("last_outcome")],
            &bea[col("dialled")]
        ),
        // The plain results neutralise a leading `+` (docs/campaign.md).
        ("removed", "no_answer", "'+442079460191")
    );
    assert!(!all.contains("Cal"), "never called: {all}");
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
    let calls = fixture::attempts(&test.path().join("appts.rehearsal.state.db")).len();
    assert_eq!(calls, 3, "Ana and Bea on Monday, Dan on Tuesday");
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

/// The campaign of the week's rehearsal: tomorrow's appointments confirmed from a new CSV every
/// day, calls stopping 12 hours before each appointment, six calls a day at most.
const WEEK: &str = "\
name: appts
input:
  path: appts-{date}.csv
  key_column: id
  default_region: GB
  deadline_column: appointment
call:
  objective: Confirm {{ name }}'s appointment at {{ appointment }}.
schedule:
  timezone: Europe/London
  stop_before: 12h
retry:
  no_answer: { attempts: 3, after: 2h }
  voicemail: { attempts: 2, after: 3h }
limits:
  max_calls_per_day: 6
output:
  path: results.csv
";

/// The CSV of `day`: six appointments, most of them the next day. 0190 completes, 0191 never
/// answers, 0192 reaches voicemail. The first run calls five; the day's sixth and last call is
/// Bea's retry two hours later (Cal's comes an hour after hers: which retry gets the last call is
/// never a race of end times). Bea's appointment at 01:00 stops her calls at 13:00, before her
/// third; Eve's was this morning.
fn week_csv(day: jiff::civil::Date) -> String {
    let next = day.tomorrow().unwrap();
    format!(
        "id,name,phone,appointment\n\
         {day}-1,Ana,020 7946 0190,{next} 10:00\n\
         {day}-2,Bea,020 7946 0191,{next} 01:00\n\
         {day}-3,Cal,020 7946 0192,{next} 14:00\n\
         {day}-4,Dan,020 7946 0190,{next} 11:00\n\
         {day}-5,Eve,020 7946 0190,{day} 08:00\n\
         {day}-6,Gus,020 7946 0190,{next} 12:00\n"
    )
}

/// What follows `prefix` in the first line of `text` that has it, up to `end` (or the line's end).
fn after<'a>(text: &'a str, prefix: &str, end: &str) -> &'a str {
    let line = text
        .lines()
        .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"));
    line.split(end).next().unwrap()
}

#[test]
fn a_daily_appointment_campaign_rehearsed_from_cron_over_a_week() {
    let test = Test::new().file("campaign.yaml", WEEK);
    let monday: jiff::civil::Date = "2099-12-07".parse().unwrap();
    let mut cap_stops = 0;
    for offset in 0..5 {
        let day = monday.checked_add(jiff::Span::new().days(offset)).unwrap();
        std::fs::write(test.path().join(format!("appts-{day}.csv")), week_csv(day)).unwrap();
        let mut last_run = String::new();
        // The documented cron line: every 15 minutes, 08:00 to 18:45.
        for quarter in 0..44 {
            let start = format!("{day} {:02}:{:02}", 8 + quarter / 4, quarter % 4 * 15);
            let (code, _, stderr) = stdout_of(
                &test,
                &[
                    "run",
                    "campaign.yaml",
                    "--sandbox",
                    "--until-idle",
                    "--start",
                    &start,
                ],
            );
            assert!(matches!(code, 0 | 75), "{start}: exit {code}\n{stderr}");
            if stderr.contains("stopped placing:") {
                cap_stops += 1;
                assert_eq!(code, 75, "{start}: a cap left work\n{stderr}");
                assert!(
                    stderr.contains(&format!(
                        "stopped placing: limits.max_calls_per_day 6 reached for {day} \
                         (Europe/London)"
                    )),
                    "{start}: the cap is named\n{stderr}"
                );
            }
            // Exit 0 only when nothing is left to call.
            let (_, json, _) =
                stdout_of(&test, &["status", "campaign.yaml", "--rehearsal", "--json"]);
            let status: serde_json::Value = serde_json::from_str(&json).unwrap();
            let waiting = status["waiting"].as_array().unwrap();
            assert_eq!(
                code == 0,
                waiting.is_empty(),
                "{start}: exit {code} with {waiting:?}\n{stderr}"
            );
            last_run = stderr;
        }
        // The same count in every command.
        let census = after(&last_run, "contacts: ", " in ").to_owned();
        assert_eq!(census, "6 rows: 6 to call", "{last_run}");
        let (_, status, _) = stdout_of(&test, &["status", "campaign.yaml", "--rehearsal"]);
        assert_eq!(
            after(&status, "Rows in the CSV: ", "\n"),
            census,
            "{status}"
        );
        let (code, _, exported) = stdout_of(
            &test,
            &["export", "campaign.yaml", "--rehearsal", "-o", "export.csv"],
        );
        assert_eq!(code, 0, "{exported}");
        assert_eq!(after(&exported, ": ", ", and"), census, "{exported}");
        let csv = format!("appts-{day}.csv");
        let (code, report, _) =
            stdout_of(&test, &["validate", "campaign.yaml", "--contacts", &csv]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(after(&report, &format!("{csv} ("), ")"), census, "{report}");
        // Today's rows: Bea's calls stopped before her third, Eve was never called.
        let rows = results(&test);
        let by_name = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(rows.len(), 6, "{rows:?}");
        assert_eq!(by_name("Ana")["status"], "completed");
        assert_eq!(
            (
                by_name("Bea")["status"].as_str(),
                by_name("Bea")["attempts"].as_str()
            ),
            ("expired", "2"),
            "{rows:?}"
        );
        assert_eq!(
            (
                by_name("Eve")["status"].as_str(),
                by_name("Eve")["attempts"].as_str()
            ),
            ("expired", "0")
        );
    }
    assert!(cap_stops > 0, "the daily cap stopped some runs");

    let placed = fixture::attempts_with_contacts(&test.path().join("appts.rehearsal.state.db"));
    // Never a call at or after a row's cutoff.
    let late = placed
        .iter()
        .filter(|(a, c)| c.cutoff_at.is_some_and(|cutoff| a.created_at >= cutoff))
        .count();
    assert_eq!(late, 0, "no call after a deadline");
    // Six calls a day at most, by London's day.
    let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
    for (attempt, _) in &placed {
        let at = jiff::Timestamp::from_millisecond(attempt.created_at).unwrap();
        let day = at
            .to_zoned_datetime(jiff::tz::db().get("Europe/London").unwrap())
            .date();
        *per_day.entry(day.to_string()).or_default() += 1;
    }
    assert_eq!(per_day.len(), 5, "{per_day:?}");
    assert!(per_day.values().all(|&n| n == 6), "{per_day:?}");
    // Yesterday's rows left today's results: the history keeps its calls.
    let (_, status, _) = stdout_of(&test, &["status", "campaign.yaml", "--rehearsal"]);
    assert!(
        status.contains("History: 24 contacts of earlier imports no longer in the CSV"),
        "{status}"
    );
}

#[test]
fn a_retry_rule_tightened_between_runs_stops_the_retry_it_had_scheduled() {
    let test = Test::new()
        .file("campaign.yaml", CAMPAIGN)
        .file("appts.csv", "id,name,phone\n1,Bea,020 7946 0191\n");
    let run = |start: &str| {
        stdout_of(
            &test,
            &[
                "run",
                "campaign.yaml",
                "--sandbox",
                "--until-idle",
                "--start",
                start,
            ],
        )
    };
    // 0191 never answers: the rule allows two more calls, the next two hours later.
    let (code, _, stderr) = run("2099-12-07 10:00");
    assert_eq!(code, 75, "{stderr}");
    let tightened = CAMPAIGN.replace("attempts: 3", "attempts: 1");
    std::fs::write(test.path().join("campaign.yaml"), tightened).unwrap();
    let (code, _, stderr) = run("2099-12-07 13:00");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("the campaign's retry rule no longer allows another call"),
        "{stderr}"
    );
    let rows = results(&test);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["attempts"].as_str()),
        ("no_answer", "1"),
        "{rows:?}"
    );
}
