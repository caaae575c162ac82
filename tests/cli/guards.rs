//! Retries, cron runs and spending guards, against the real sandbox binary on a scaled clock
//! (the runner follows the sandbox's clock, so retry delays pass a thousand times faster).
//!
//! What these prove, from the sandbox's own record of every call (`GET /sandbox/calls`) and the
//! state file: retries are spaced by their `after` delay; refused placements use no attempt;
//! `run --until-idle` exits 0 or 75 as work remains, across cron-style invocations with rows
//! appended between them, and never calls twice; the minute budget, the circuit breaker,
//! `--canary` and suppression files edited during a run stop what they must.

use std::collections::BTreeMap;
use std::process::Stdio;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::run::{Done, results, run_to_end, runner, sandbox_calls, ts, until};
use crate::support::{Campaign, SandboxProcess, Test, fixture};

/// A campaign keyed by number with no calling windows, the given limits and retry rules, and
/// an empty suppression list.
fn campaign(limits: &str, retry: &str) -> Campaign {
    Campaign::new("guards")
        .limits("  calls_per_minute: 600\n  burst: 10")
        .limits(limits)
        .retry(retry)
        .suppress("# nobody yet\n")
}

/// The campaign and its contacts in a temp folder, and a sandbox on a clock a thousand times
/// faster than real time, started with `sandbox_args` too.
fn start(
    limits: &str,
    retry: &str,
    contacts: &str,
    sandbox_args: &[&str],
) -> (Test, SandboxProcess) {
    let test = campaign(limits, retry).write(contacts);
    let mut args = vec!["--time-scale", "0.001"];
    args.extend_from_slice(sandbox_args);
    (test, SandboxProcess::spawn(&args))
}

/// `run` to its end, with nothing else.
fn run(test: &Test, sandbox: &SandboxProcess) -> Done {
    run_to_end(runner(test, &sandbox.base_url))
}

/// The sandbox's calls grouped by number, each number's calls oldest first.
fn by_number(calls: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut by: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for call in calls {
        by.entry(call["to"].as_str().unwrap().to_owned())
            .or_default()
            .push(call);
    }
    by
}

fn results_by_name(test: &Test) -> BTreeMap<String, BTreeMap<String, String>> {
    results(test)
        .into_iter()
        .map(|row| (row["first_name"].clone(), row))
        .collect()
}

#[test]
fn retries_are_spaced_by_their_delay_and_results_show_the_last_outcome_and_attempts() {
    let contacts = "\
first_name,phone
Ana,415-555-0191
Wei,415-555-0198
Sam,415-555-0190
";
    let (test, sandbox) = start(
        "  max_concurrent: 5",
        "  no_answer: { attempts: 3, after: 30m }",
        contacts,
        &["--seed", "3"],
    );
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let calls = sandbox_calls(&sandbox.base_url);
    let by = by_number(&calls);
    let counts: BTreeMap<&str, usize> = by.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("+14155550190", 1),
            ("+14155550191", 3),
            ("+14155550198", 2)
        ])
    );
    for (to, calls) in &by {
        for pair in calls.windows(2) {
            let gap = ts(pair[1], "createdAt").duration_since(ts(pair[0], "endedAt"));
            assert!(
                gap >= SignedDuration::from_mins(30),
                "{to}: placed again {gap} after the previous call ended, before `after: 30m`"
            );
        }
    }
    let rows = results_by_name(&test);
    let status = |name: &str| {
        let row = &rows[name];
        (row["status"].as_str(), row["attempts"].as_str())
    };
    assert_eq!(
        status("Ana"),
        ("no_answer", "3"),
        "attempts used up: the last outcome"
    );
    assert_eq!(status("Wei"), ("completed", "2"));
    assert_eq!(status("Sam"), ("completed", "1"));
}

#[test]
fn placements_refused_before_any_call_exists_use_no_attempt() {
    // Half of all requests answer 503 store_error, and at most 2 placements a minute are let
    // through (429 rate_limited): many POSTs are refused, yet each number gets exactly its two
    // no-answer attempts.
    let contacts = "\
first_name,phone
Ana,415-555-0191
Wei,212-555-0191
Sam,312-555-0191
";
    let (test, sandbox) = start(
        "  max_concurrent: 3",
        "  no_answer: { attempts: 2, after: 1m }",
        contacts,
        &[
            "--seed",
            "9",
            "--error-rate",
            "0.5",
            "--rate-limit",
            "2/min",
        ],
    );
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let calls = sandbox_calls(&sandbox.base_url);
    for (to, calls) in by_number(&calls) {
        assert_eq!(calls.len(), 2, "{to}");
    }
    let refused = fixture::attempts(&test.path().join("guards.state.db"))
        .iter()
        .filter(|a| a.state == "not_placed")
        .count();
    assert!(
        refused > 0,
        "the faults refused no placement: the test proves nothing"
    );
    for row in results(&test) {
        assert_eq!(
            (row["status"].as_str(), row["attempts"].as_str()),
            ("no_answer", "2"),
            "{row:?}"
        );
    }
}

/// `run --until-idle` as cron would run it.
fn cron(test: &Test, url: &str) -> (Option<i32>, String) {
    let mut command = runner(test, url);
    command.arg("--until-idle");
    let done = run_to_end(command);
    (done.code, done.stderr)
}

#[test]
fn until_idle_leaves_a_pause_of_the_whole_run_to_the_next_cron_run() {
    // The account's minutes run out after one simulated minute of conversation: placements
    // then get `over_minute_cap`, and the run pauses them for 15 minutes. A cron run must not
    // sleep through that pause (the next cron start would find the state file locked); it
    // exits 75, and the contacts are still pending.
    let contacts = "\
first_name,phone
Ana,415-555-0190
Wei,212-555-0190
Sam,312-555-0190
Ola,646-555-0190
Kim,718-555-0190
Lee,917-555-0190
";
    let (test, sandbox) = start(
        "  max_concurrent: 1",
        "  no_answer: { attempts: 1 }",
        contacts,
        &["--minute-cap", "1"],
    );
    // Bounded: without the fix the run pauses, retries and pauses again forever.
    let mut command = runner(&test, &sandbox.base_url);
    command.arg("--until-idle");
    let Done { code, stderr } =
        crate::run::run_within(command, std::time::Duration::from_secs(120));
    assert_eq!(code, Some(75), "{stderr}");
    assert!(stderr.contains("idle: nothing more is due now"), "{stderr}");
    assert!(stderr.contains("minutes are used up"), "{stderr}");
    let placed = sandbox_calls(&sandbox.base_url).len();
    assert!(placed < 6, "the pause let {placed} calls out");
}

#[test]
fn until_idle_leaves_a_call_past_max_call_minutes_to_the_next_cron_run() {
    // 555-0195 never ends. A cron run does not wait for it once it is past
    // limits.max_call_minutes: it exits 75 with the call still followed, and a later cron run,
    // past the give-up instant, settles it as unknown.
    let (test, sandbox) = start(
        "  max_concurrent: 5\n  max_call_minutes: 1",
        "  no_answer: { attempts: 1 }",
        "first_name,phone\nAna,415-555-0191\nWei,415-555-0195\n",
        &["--seed", "4"],
    );
    let url = sandbox.base_url.clone();
    let state = test.path().join("guards.state.db");
    let attempt_state = || -> String {
        fixture::attempts(&state)
            .into_iter()
            .find(|a| a.contact_key == "+14155550195")
            .expect("Wei's attempt")
            .state
    };

    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.contains("left to the next run: 1 call(s) still in flight"),
        "{stderr}"
    );
    assert_eq!(attempt_state(), "placed", "not waited for, not given up");
    let call = sandbox_calls(&url)
        .into_iter()
        .find(|c| c["to"] == "+14155550195")
        .unwrap();

    let give_up = ts(&call, "createdAt") + SignedDuration::from_mins(6);
    until("the give-up instant", || sandbox.now() > give_up);
    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );
    assert_eq!(attempt_state(), "unknown");
    let rows = results_by_name(&test);
    assert_eq!(rows["Wei"]["status"], "unknown");
    assert_eq!(rows["Ana"]["status"], "no_answer");
    assert_eq!(by_number(&sandbox_calls(&url))["+14155550195"].len(), 1);
}

#[test]
fn until_idle_runs_from_cron_exit_75_while_work_remains_and_never_call_twice() {
    let (test, sandbox) = start(
        "  max_concurrent: 5",
        // 8 simulated hours are 29 real seconds: the three runs below fit in them on a loaded
        // machine (2 hours, 7 seconds, did not always).
        "  no_answer: { attempts: 2, after: 8h }",
        "first_name,phone\nAna,415-555-0190\nWei,415-555-0191\n",
        &["--seed", "4"],
    );
    let url = sandbox.base_url.clone();

    // 1: both called; Wei's no-answer is retried two hours later.
    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.contains("idle: nothing more is due now; next due at ")
            && stderr
                .contains("(1 contact: waiting for the retry delay after an unsuccessful call)"),
        "{stderr}"
    );
    assert_eq!(sandbox_calls(&url).len(), 2);

    // A row appended between runs is picked up by the next one; Wei still waits.
    let csv = test.path().join("contacts.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("Sam,312-555-0190\n");
    std::fs::write(&csv, text).unwrap();
    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(stderr.contains("1 new"), "{stderr}");
    assert_eq!(sandbox_calls(&url).len(), 3);

    // 3: nothing due: nothing placed, same answer.
    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(sandbox_calls(&url).len(), 3);

    // `status --json` has the next due time and why.
    let status = Test::new()
        .current_dir(test.path().to_owned())
        .args(&["status", "campaign.yaml", "--json"])
        .run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    let doc: Value = serde_json::from_str(&status.stdout).unwrap();
    let next: Timestamp = doc["next_due"].as_str().unwrap().parse().unwrap();
    let waiting = doc["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["reason"], "retry");
    assert_eq!(waiting[0]["contacts"], 1);
    assert_eq!(waiting[0]["next_due"].as_str(), doc["next_due"].as_str());
    assert!(doc["eta"]["latest"].is_string());

    // 4: once the retry is due, Wei's second and last call: the campaign is finished.
    until("the retry to fall due", || sandbox.now() > next);
    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );

    // 5: finished stays finished.
    let (code, stderr) = cron(&test, &url);
    assert_eq!(code, Some(0), "{stderr}");

    let calls = sandbox_calls(&url);
    let counts: BTreeMap<String, usize> = by_number(&calls)
        .into_iter()
        .map(|(k, v)| (k, v.len()))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("+13125550190".to_owned(), 1),
            ("+14155550190".to_owned(), 1),
            ("+14155550191".to_owned(), 2)
        ]),
        "no duplicate calls across five runs"
    );
    let idempotency: std::collections::HashSet<&str> = calls
        .iter()
        .map(|c| c["idempotencyKey"].as_str().unwrap())
        .collect();
    assert_eq!(idempotency.len(), calls.len());
}

#[test]
fn max_calls_and_max_minutes_stop_placing_and_say_why() {
    let contacts = "\
first_name,phone
Ana,415-555-0190
Wei,212-555-0190
Sam,312-555-0190
";
    // A budget of 10 minutes reserving 10 per call: one call, then nothing fits.
    let (test, sandbox) = start(
        "  max_concurrent: 5\n  max_minutes: 10\n  max_call_minutes: 10",
        "  no_answer: { attempts: 1 }",
        contacts,
        &["--seed", "2"],
    );
    // Contacts are left: exit 75, never 0 (cron must not take it for a finished campaign).
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(75), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("stopped placing: limits.max_minutes 10 reached: ")
            && done
                .stderr
                .contains("min reserved for 0 call(s) in flight and the next one"),
        "{}",
        done.stderr
    );
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 1);
    // A later run places nothing either.
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(75), "{}", done.stderr);
    let calls = sandbox_calls(&sandbox.base_url);
    assert_eq!(calls.len(), 1);
    // `status` shows what was spent: the call's own duration.
    let status = Test::new()
        .current_dir(test.path().to_owned())
        .args(&["status", "campaign.yaml"])
        .run();
    let minutes = calls[0]["durationSec"].as_f64().unwrap() / 60.0;
    assert!(
        status.stdout.contains(&format!(
            "Spent: {minutes:.1} of 10 minutes (limits.max_minutes; 10 min reserved per call in \
             flight)"
        )),
        "{}",
        status.stdout
    );

    // limits.max_calls for the campaign (`--max-calls` for one run: tests/cli/run.rs).
    let (test, sandbox) = start(
        "  max_concurrent: 5\n  max_calls: 2",
        "  no_answer: { attempts: 1 }",
        contacts,
        &["--seed", "2"],
    );
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(75), "{}", done.stderr);
    assert!(
        done.stderr.contains(
            "stopped placing: limits.max_calls 2 reached for the campaign; work remains: raise \
             the limit in campaign.yaml to go on"
        ),
        "{}",
        done.stderr
    );
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 2);
    // The campaign's cap counts the calls of earlier runs: a second run places nothing.
    let again = run(&test, &sandbox);
    assert_eq!(again.code, Some(75), "{}", again.stderr);
    assert!(
        again.stderr.contains("limits.max_calls 2 reached"),
        "{}",
        again.stderr
    );
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 2);
}

/// Twelve contacts whose numbers end in `suffix`, called one at a time, and their sandbox
/// started with `sandbox_args`.
fn breaker_setup(suffix: &str, sandbox_args: &[&str]) -> (Test, SandboxProcess) {
    let mut contacts = String::from("first_name,phone\n");
    for area in [201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214] {
        contacts.push_str(&format!("P{area},{area}-555-{suffix}\n"));
    }
    start(
        "  max_concurrent: 1",
        "  failed: { attempts: 1 }",
        &contacts,
        sandbox_args,
    )
}

#[test]
fn the_circuit_breaker_stops_a_campaign_whose_calls_fail() {
    // Every call fails (555-0194): the tenth failure of the last twenty trips the breaker.
    let (test, sandbox) = breaker_setup("0194", &["--seed", "6"]);
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(69), "{}", done.stderr);
    assert!(
        done.stderr.contains(
            "error: circuit breaker: 10 of the last 10 calls went wrong (10 failed, 0 completed \
             without any requested field); the limit is 10 of 20."
        ),
        "{}",
        done.stderr
    );
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 10);
    let pending = results(&test)
        .iter()
        .filter(|r| r["status"] == "pending")
        .count();
    assert_eq!(pending, 2, "the rest are left for after a person looked");

    // It stays open: the next run places nothing, and `status` says so.
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(69), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("error: circuit breaker: it tripped at ")
            && done
                .stderr
                .contains("stays open until a run is given --reset-breaker"),
        "{}",
        done.stderr
    );
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 10);
    let status = Test::new()
        .current_dir(test.path().to_owned())
        .args(&["status", "campaign.yaml"])
        .run();
    assert!(
        status
            .stdout
            .contains("Circuit breaker: open, no call is placed: it tripped at "),
        "{}",
        status.stdout
    );

    // Reset after a look: the count starts afresh, so two more failures do not trip it.
    let mut command = runner(&test, &sandbox.base_url);
    command.arg("--reset-breaker");
    let done = run_to_end(command);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 12);
}

#[test]
fn the_circuit_breaker_counts_the_calls_of_earlier_cron_runs() {
    // Four calls a run, every one failing: the third run makes the tenth failure and trips.
    let (test, sandbox) = breaker_setup("0194", &["--seed", "6"]);
    let mut codes = Vec::new();
    for _ in 0..3 {
        let mut command = runner(&test, &sandbox.base_url);
        command.args(["--until-idle", "--max-calls", "4"]);
        codes.push(run_to_end(command).code);
    }
    assert_eq!(codes, [Some(75), Some(75), Some(69)]);
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 10);
}

#[test]
fn the_circuit_breaker_stops_a_campaign_whose_calls_obtain_nothing() {
    // Every call completes (555-0190) but obtains no field (--empty-rate 1).
    let (test, sandbox) = breaker_setup("0190", &["--seed", "6", "--empty-rate", "1"]);
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(69), "{}", done.stderr);
    assert!(
        done.stderr.contains(
            "circuit breaker: 10 of the last 10 calls went wrong (0 failed, 10 completed \
             without any requested field)"
        ),
        "{}",
        done.stderr
    );
    let calls = sandbox_calls(&sandbox.base_url);
    assert_eq!(calls.len(), 10);
    assert!(calls.iter().all(|c| c["finalStatus"] == "completed"));
}

#[test]
fn a_canary_places_n_calls_prints_their_results_and_stops() {
    let mut contacts = String::from("first_name,phone\n");
    for i in 0..6 {
        contacts.push_str(&format!("P{i},212-555-01{:02}\n", i + 10));
    }
    let once =
        "  no_answer: { attempts: 1 }\n  voicemail: { attempts: 1 }\n  failed: { attempts: 1 }";
    let (test, sandbox) = start("  max_concurrent: 5", once, &contacts, &["--seed", "12"]);
    let mut command = runner(&test, &sandbox.base_url);
    command.args(["--canary", "2"]).stdout(Stdio::piped());
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("canary: 2 call(s) placed and followed to their end (above)"),
        "{stderr}"
    );
    // The message names what the user passed, not the --max-calls it works through.
    assert!(
        stderr.contains("stopped placing: --canary 2 reached"),
        "{stderr}"
    );
    assert!(!stderr.contains("--max-calls"), "{stderr}");
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 2);
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    // Without --canary, the rest go out.
    let done = run(&test, &sandbox);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 6);
}

#[test]
fn a_number_added_to_a_suppression_file_during_a_run_is_not_called_again() {
    let (test, sandbox) = start(
        "  max_concurrent: 5",
        "  no_answer: { attempts: 3, after: 1h }",
        "first_name,phone\nAna,415-555-0191\n",
        &["--seed", "8"],
    );
    let url = sandbox.base_url.clone();
    let mut child = runner(&test, &url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until("the first call", || {
        sandbox_calls(&url)
            .first()
            .is_some_and(|c| c["finalStatus"].is_string())
    });
    std::fs::write(
        test.path().join("do-not-call.txt"),
        "# added during the run\n(415) 555-0191\n",
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("was added to a suppression list during the run: not called"),
        "{stderr}"
    );
    assert_eq!(sandbox_calls(&url).len(), 1, "the retry was not placed");
    let row = &results(&test)[0];
    assert_eq!(row["status"], "suppressed");
    assert_eq!(row["attempts"], "1");
}

#[test]
fn a_daily_call_cap_stops_each_day_with_exit_75_and_the_next_day_goes_on() {
    // Two calls a day (the day of schedule.timezone, New York); three contacts.
    let test = Test::new()
        .file(
            "campaign.yaml",
            crate::support::CAMPAIGN.to_owned() + "limits:\n  max_calls_per_day: 2\n",
        )
        .file(
            "contacts.csv",
            "id,first_name,phone,date\n1,Ana,415-555-0190,x\n2,Wei,212-555-0190,x\n3,Sam,312-555-0190,x\n",
        );
    let run_at = |start: &str| {
        test.command_with(&[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--until-idle",
            "--start",
            start,
        ])
        .output()
        .unwrap()
    };
    let calls = || fixture::attempts(&test.path().join("demo.rehearsal.state.db")).len();
    // Monday 13:00 in New York: two calls, then the cap. Work is left: 75, with the cap named.
    let monday = run_at("2099-12-07 13:00");
    let stderr = String::from_utf8_lossy(&monday.stderr);
    assert_eq!(monday.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains(
            "stopped placing: limits.max_calls_per_day 2 reached for 2099-12-07 \
             (America/New_York): 2 call(s) placed that day; work remains: the first run of the \
             next day goes on"
        ),
        "{stderr}"
    );
    assert_eq!(calls(), 2);
    // status says what the day spent (the rehearsal's day, from its state file).
    let status = test
        .command_with(&["status", "campaign.yaml", "--rehearsal"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(
            "Spent: 2 of 2 calls on 2099-12-07 (America/New_York) (limits.max_calls_per_day)"
        ),
        "{status}"
    );
    // The estimate puts the last contact on a later day: the cap leaves none for today.
    assert!(
        status.contains(
            "the daily caps allow about 2 calls a day: the calls left spread over 1 more day(s)"
        ),
        "{status}"
    );
    // status --json carries the same: today's spending against the daily caps.
    let json = test
        .command_with(&["status", "campaign.yaml", "--rehearsal", "--json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&json.stdout).expect("stdout is JSON");
    assert_eq!(
        json["today"],
        serde_json::json!({
            "date": "2099-12-07",
            "timezone": "America/New_York",
            "start": "2099-12-07T05:00:00Z",
            "calls": 2,
            "call_seconds": json["today"]["call_seconds"],
            "max_calls_per_day": 2,
            "max_minutes_per_day": null,
        }),
        "{json:#}"
    );
    assert!(
        json["today"]["call_seconds"].as_u64().unwrap() > 0,
        "{json:#}"
    );
    // Later the same day: the day's calls are counted from the state file; nothing placed.
    let later = run_at("2099-12-07 16:00");
    let stderr = String::from_utf8_lossy(&later.stderr);
    assert_eq!(later.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("limits.max_calls_per_day 2 reached"),
        "{stderr}"
    );
    assert_eq!(calls(), 2);
    // Tuesday: the last contact is called and the campaign is finished.
    let tuesday = run_at("2099-12-08 13:00");
    let stderr = String::from_utf8_lossy(&tuesday.stderr);
    assert_eq!(tuesday.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );
    assert_eq!(calls(), 3);
}

#[test]
fn daily_caps_must_be_positive() {
    let run = Test::demo()
        .file(
            "campaign.yaml",
            crate::support::CAMPAIGN.to_owned()
                + "limits:\n  max_calls_per_day: 0\n  max_minutes_per_day: -5\n",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78, "{}", run.transcript());
    assert!(
        run.stderr.contains("limits.max_calls_per_day")
            && run.stderr.contains("limits.max_minutes_per_day"),
        "{}",
        run.stderr
    );
}
