//! Every run ends, whatever the API does: the real binary against the real sandbox over
//! loopback, with a real state file.
//!
//! What these prove: a call that never ends (555-0195) is given up as `unknown` once it is past
//! `limits.max_call_minutes` and the grace, and the run finishes; a result that comes after that
//! is still recorded, by the next run's poll or by a webhook; SIGTERM ends a run within
//! `--stop-grace` even with such a call in flight, and `status` says what the run waits for
//! meanwhile; an API that answers nothing but errors ends the run with 75, every contact kept.
//! Waits are bounded generously and nothing here measures speed.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::run::{
    Done, rehearsal_results, results, run_to_end, run_within, runner, sandbox_calls, ts, until,
    wait_for,
};
use crate::support::{Campaign, SandboxProcess, Test, fixture};

/// A campaign keyed by `id`, no calling windows, `limits` as given.
fn setup(limits: &str, contacts: &str) -> Test {
    Campaign::new("ending")
        .keyed_by_id()
        .limits("  calls_per_minute: 600\n  burst: 10")
        .limits(limits)
        .retry("  no_answer: { attempts: 1 }")
        .write(contacts)
}

/// The results CSV row of the contact whose `id` is `id`.
fn row(
    rows: &[std::collections::BTreeMap<String, String>],
    id: &str,
) -> std::collections::BTreeMap<String, String> {
    rows.iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {rows:?}"))
        .clone()
}

/// The sandbox's calls to numbers ending in `suffix`.
fn calls_to(url: &str, suffix: &str) -> Vec<Value> {
    sandbox_calls(url)
        .into_iter()
        .filter(|c| c["to"].as_str().unwrap().ends_with(suffix))
        .collect()
}

/// `bys-campaign ARGS` in the test's folder, to its end.
fn command(test: &Test, args: &[&str]) -> crate::support::Run {
    Test::new()
        .current_dir(test.path().to_owned())
        .args(args)
        .run()
}

#[test]
fn a_call_that_never_ends_is_given_up_as_unknown_and_the_run_finishes() {
    // The new user's report: faults on, a 555-0195 row among others; the run once polled that
    // call for days of simulated time and never exited.
    let contacts = "\
id,first_name,phone
A,Ana,415-555-0101
B,Wei,415-555-0195
C,Lin,212-555-0102
D,Sam,212-555-0196
E,Kim,212-555-0197
F,Bo,212-555-0103
";
    let test = setup("  max_concurrent: 10", contacts);
    let sandbox = SandboxProcess::spawn(&[
        "--time-scale",
        "0.001",
        "--drop-after-create",
        "0.05",
        "--error-rate",
        "0.05",
        "--seed",
        "8",
    ]);
    // 15 simulated minutes are 0.9 real seconds here; without the deadline it never ends.
    let Done { code, stderr } =
        run_within(runner(&test, &sandbox.base_url), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );
    assert!(
        stderr.contains("contact B is unknown: still in_progress "),
        "{stderr}"
    );

    let rows = results(&test);
    let stuck = row(&rows, "B");
    assert_eq!(stuck["status"], "unknown", "{stuck:?}");
    assert!(
        stuck["error"].contains("after it was placed (limits.max_call_minutes 10m + 5m grace)"),
        "{stuck:?}"
    );
    assert_eq!(row(&rows, "D")["status"], "invalid");
    assert_eq!(row(&rows, "E")["status"], "invalid");
    assert_eq!(calls_to(&sandbox.base_url, "0195").len(), 1, "called once");

    // `status` and `explain` say why.
    let status = command(&test, &["status", "campaign.yaml"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("  B: a call may have been placed"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("still in_progress"),
        "{}",
        status.stdout
    );
    let explain = command(&test, &["explain", "campaign.yaml", "B"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain.stdout.contains("State: unknown"),
        "{}",
        explain.stdout
    );
    assert!(
        explain.stdout.contains("still in_progress"),
        "{}",
        explain.stdout
    );
}

#[test]
fn a_rehearsal_with_a_call_that_never_ends_finishes_with_it_unknown() {
    let test = setup(
        "  max_call_minutes: 2",
        "id,first_name,phone\nA,Ana,415-555-0190\nB,Wei,415-555-0195\n",
    );
    let done = command(&test, &["run", "campaign.yaml", "--sandbox"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let rows = rehearsal_results(&test);
    assert_eq!(row(&rows, "A")["status"], "completed");
    let stuck = row(&rows, "B");
    assert_eq!(stuck["status"], "unknown");
    assert!(
        stuck["error"].contains("(limits.max_call_minutes 2m + 5m grace)"),
        "{stuck:?}"
    );
}

#[test]
fn a_result_that_comes_after_the_call_was_given_up_is_recorded_by_the_next_run() {
    // 555-0195 ends `completed` after 30 simulated minutes here; the run gives it up after
    // 1 + 5. The next run asks once more, and records the result against the same attempt.
    let test = setup(
        "  max_call_minutes: 1",
        "id,first_name,phone\nA,Ana,415-555-0190\nB,Wei,415-555-0195\n",
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--stuck-minutes", "30"]);
    let url = sandbox.base_url.clone();
    let first = run_to_end(runner(&test, &url));
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(row(&results(&test), "B")["status"], "unknown");
    let call = calls_to(&url, "0195").remove(0);
    assert_eq!(call["status"], "in_progress", "given up before it ended");

    until("the stuck call to end", || {
        calls_to(&url, "0195")[0]["status"] == "completed"
    });
    let second: Done = run_to_end(runner(&test, &url));
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("contact B: the call given up as unknown ended after all (completed)"),
        "{}",
        second.stderr
    );
    let late = row(&results(&test), "B");
    assert_eq!(late["status"], "completed", "{late:?}");
    assert_eq!(late["call_id"], call["callId"].as_str().unwrap());
    assert!(!late["summary"].is_empty(), "{late:?}");
    let calls = calls_to(&url, "0195");
    assert_eq!(calls.len(), 1, "not called again");
    // Every GET the sandbox answered is counted in the state file, the late one included.
    let attempt = fixture::attempts(&test.path().join("ending.state.db"))
        .into_iter()
        .find(|a| a.call_id.as_deref() == call["callId"].as_str())
        .expect("the call's attempt");
    assert_eq!(attempt.state, "finished");
    assert_eq!(Some(attempt.polls), calls[0]["reads"].as_i64());
    assert!(ts(&calls[0], "endedAt") > ts(&call, "createdAt"));

    // Once recorded, a third run has nothing to ask.
    let third = run_to_end(runner(&test, &url));
    assert_eq!(third.code, Some(0), "{}", third.stderr);
    assert!(third.stderr.contains("0 poll(s)"), "{}", third.stderr);
}

#[test]
fn sigterm_with_a_call_that_never_ends_in_flight_exits_130_within_the_grace() {
    // Real time: the calls in flight last minutes, far beyond the grace.
    let test = setup(
        "  max_concurrent: 10",
        "id,first_name,phone\nA,Ana,415-555-0195\nB,Wei,415-555-0101\n",
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "1", "--seed", "3"]);
    let url = sandbox.base_url.clone();
    let mut child = runner(&test, &url)
        .args(["--stop-grace", "4s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until("both calls placed", || sandbox_calls(&url).len() == 2);
    // The state file has them too: the runner records a placement before it is followed.
    until("both placements recorded", || {
        command(&test, &["status", "campaign.yaml", "--json"])
            .stdout
            .contains("\"placed\": 2")
    });
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    until("status to say the run is stopping", || {
        let status = command(&test, &["status", "campaign.yaml"]);
        status.stdout.contains("Run: stopping since ")
            && status.stdout.contains("following 2 calls in flight until ")
    });
    // Well beyond the grace, to allow for a loaded machine; without it the run never ends.
    let status = wait_for(&mut child, Duration::from_secs(60));
    if status.is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopping: no new calls; following 2 call(s) already placed to their end, for 4s at most"),
        "{stderr}"
    );
    assert!(
        stderr.contains("left to the next run: 2 call(s) still in flight"),
        "{stderr}"
    );
    assert!(stderr.contains("--stop-grace (4s) ran out"), "{stderr}");
    // The calls are the next run's to follow; the results say so.
    let rows = results(&test);
    assert!(rows.iter().all(|r| r["status"] == "pending"), "{rows:?}");
    let placed = fixture::attempts(&test.path().join("ending.state.db"))
        .iter()
        .filter(|a| a.state == "placed")
        .count();
    assert_eq!(placed, 2, "left placed, for the next run to follow");
    let after = command(&test, &["status", "campaign.yaml"]);
    assert!(!after.stdout.contains("stopping"), "{}", after.stdout);
    assert!(after.stdout.contains("2 in flight"), "{}", after.stdout);
}

#[test]
fn an_api_that_answers_only_errors_ends_the_run_with_75_and_keeps_every_contact() {
    for faults in [["--error-rate", "1"], ["--minute-cap", "0"]] {
        let test = setup(
            "  max_concurrent: 10",
            "id,first_name,phone\nA,Ana,415-555-0101\nB,Wei,415-555-0102\nC,Lin,415-555-0196\n",
        );
        let mut args = vec!["--time-scale", "0.001"];
        args.extend(faults);
        let sandbox = SandboxProcess::spawn(&args);
        let Done { code, stderr } =
            run_within(runner(&test, &sandbox.base_url), Duration::from_secs(120));
        assert_eq!(code, Some(75), "{faults:?}: {stderr}");
        assert!(
            stderr.contains("error: the API has answered nothing but errors for "),
            "{stderr}"
        );
        assert!(sandbox_calls(&sandbox.base_url).is_empty());
        // An outage gives up no contact: they wait for a run that finds the API answering.
        let statuses: Vec<String> = results(&test)
            .into_iter()
            .map(|r| r["status"].clone())
            .collect();
        assert_eq!(
            statuses,
            ["pending", "pending", "pending"],
            "{faults:?}: {stderr}"
        );
    }
}

#[test]
fn a_given_up_call_still_ringing_keeps_its_contact_even_with_retry_unknown() {
    // The call was given up, its number's hold has passed, and the user asks for unknown
    // contacts to be called again. But the API still says the call is in progress: the run
    // asks before it places anything, and the contact stays unknown, held for another
    // max_call_minutes. Without that check it would be called while its first call rings.
    let test = setup(
        "  max_call_minutes: 1",
        "id,first_name,phone\nA,Ana,415-555-0190\nB,Wei,415-555-0195\n",
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001"]);
    let url = sandbox.base_url.clone();
    let first = run_to_end(runner(&test, &url));
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let call = calls_to(&url, "0195").remove(0);
    // Given up 6 minutes after it was placed, held 1 more: past that, --retry-unknown frees it.
    let free = ts(&call, "createdAt") + jiff::SignedDuration::from_mins(8);
    until("the hold to pass", || sandbox.now() > free);
    let mut again = runner(&test, &url);
    again.arg("--retry-unknown");
    let second = run_to_end(again);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("--retry-unknown: 1 contact(s) whose call may have gone out"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(
            "contact B: the call given up as unknown is still in_progress; not called again before "
        ),
        "{}",
        second.stderr
    );
    assert_eq!(
        calls_to(&url, "0195").len(),
        1,
        "called while its call rang"
    );
    assert_eq!(row(&results(&test), "B")["status"], "unknown");
}

#[test]
fn numbers_the_carrier_always_refuses_are_given_up_even_when_they_are_all_that_is_left() {
    // Only refusals of a few numbers fail: not an outage. Each is given up after ten, and the
    // campaign finishes (it once stopped with 75 when two were left, run after run). Also with
    // 8 % of every request failing with a 503 besides: the random `store_error`s mixed into
    // those numbers' refusals once read as an outage.
    for errors in ["0", "0.08"] {
        refused_numbers_are_given_up(errors);
    }
}

fn refused_numbers_are_given_up(error_rate: &str) {
    let test = setup(
        "  max_concurrent: 10",
        "id,first_name,phone\nA,Ana,415-555-0190\nB,Wei,415-555-0196\nC,Lin,212-555-0196\nD,Sam,312-555-0196\n",
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--error-rate", error_rate]);
    let Done { code, stderr } =
        run_within(runner(&test, &sandbox.base_url), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    let rows = results(&test);
    for id in ["B", "C", "D"] {
        let refused = row(&rows, id);
        assert_eq!(refused["status"], "invalid", "{refused:?}");
        assert!(
            refused["error"].contains("10 times in a row"),
            "{refused:?}"
        );
    }
    assert_eq!(row(&rows, "A")["status"], "completed", "{error_rate}");
}
