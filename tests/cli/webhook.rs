//! Webhook mode of `bys-campaign run`: the real binary, the real sandbox delivering signed
//! events over loopback, a real state file.
//!
//! What these prove: a campaign is finished by webhooks with (nearly) no polls, each event
//! recorded once however often the sandbox retried it; deliveries that are unsigned, badly
//! signed, stale, tampered, oversized or not JSON are refused and change nothing; a terminal
//! event is final even when an older `call.in_progress` comes after it; a runner killed with
//! SIGKILL mid-campaign and started again loses and duplicates no result; with every delivery
//! lost, the polling safety net still finishes the run; and the guards refuse what they must.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bys_campaign::webhook::signature::{SIGNATURE_HEADER, signature_header};
use serde_json::{Value, json};

use crate::assert_run;
use crate::support::{Campaign, Run, SandboxProcess, Test, binary, contacts, fixture};

const KEY: &str = "bys_ak_test_webhooks";
/// `bys-campaign sandbox` signs with this unless told otherwise.
const SECRET: &str = "whsec_sandbox";

/// The runner tests' campaign without a field, with `webhook` (a section) last.
fn campaign(webhook: &str) -> Campaign {
    Campaign::new("hooks")
        .without_fields()
        .limits("  calls_per_minute: 120\n  burst: 20\n  max_concurrent: 20")
        .retry(crate::run::RETRY)
        .more(webhook)
}

/// The receiver on a free port of its own choosing; the URL sent is its own address.
const SECTION: &str = "webhook:\n  listen: 127.0.0.1:0\n  secret_env: HOOKS_SECRET\n";

fn setup(contacts: &str) -> Test {
    campaign(SECTION).write(contacts)
}

fn runner(test: &Test, url: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["run", "campaign.yaml", "--api-url", url, "--yes"])
        .current_dir(test.path())
        .env("BYS_API_KEY", KEY)
        .env("HOOKS_SECRET", SECRET)
        .env("XDG_STATE_HOME", test.path().join("state-home"))
        .env_remove("BYS_API_URL")
        .env_remove("BYS_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// A runner started in the background, its stderr collected, its receiver's address known.
struct Running {
    child: Child,
    receiver: String,
    stderr: Arc<Mutex<String>>,
    /// The thread that reads stderr into `stderr`; it ends when the runner closes its stderr.
    reader: std::thread::JoinHandle<()>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("runner starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in lines.lines() {
                let line = line.unwrap_or_default();
                if let Some(rest) = line.strip_prefix("webhooks: receiving on ") {
                    let addr = rest.split(';').next().unwrap_or_default().to_owned();
                    let _ = tx.send(addr);
                }
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let receiver = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no receiver address:\n{}", stderr.lock().unwrap()));
        Running {
            child,
            receiver: format!("http://{receiver}/"),
            stderr,
            reader,
        }
    }

    /// Waits for the runner to end (bounded generously) and returns its exit code and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader takes the last lines and ends at end of file.
                self.reader.join().expect("the stderr reader");
                return (status.code(), self.stderr.lock().unwrap().clone());
            }
            assert!(
                Instant::now() < deadline,
                "the runner did not finish:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A command run to its end, as a snapshot-able [`Run`].
fn output(mut command: Command) -> Run {
    let out = command.output().expect("the binary starts");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8"),
    }
}

fn run_to_end(command: Command) -> (Option<i32>, String) {
    Running::start(command).finish()
}

/// Starts `bys-campaign sandbox ARGS`, runs the campaign to its end against it and checks that
/// it finished; returns the sandbox (for its records) and the runner's stderr.
fn finished_run(test: &Test, sandbox_args: &[&str]) -> (SandboxProcess, String) {
    let sandbox = SandboxProcess::spawn(sandbox_args);
    let (code, stderr) = run_to_end(runner(test, &sandbox.base_url));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );
    (sandbox, stderr)
}

fn state_path(test: &Test) -> PathBuf {
    test.path().join("hooks.state.db")
}

/// How many results came by webhook, or `None` while the runner is still creating the state
/// file.
fn results_by_webhook(state: &Path) -> Option<usize> {
    let events = fixture::webhook_events_once_ready(state)?;
    Some(events.iter().filter(|e| e.effect == "result").count())
}

/// How many attempts have seen their call in progress, or `None` while the runner is still
/// creating the state file.
fn in_progress(state: &Path) -> Option<usize> {
    let attempts = fixture::attempts_once_ready(state)?;
    let in_progress = |a: &&fixture::Attempt| a.status.as_deref() == Some("in_progress");
    Some(attempts.iter().filter(in_progress).count())
}

fn get(url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::get(url)
            .await
            .expect("answered")
            .json()
            .await
            .expect("JSON")
    })
}

/// Every call the sandbox made, oldest first.
fn sandbox_calls(url: &str) -> Vec<Value> {
    get(&format!("{url}/sandbox/calls"))["calls"]
        .as_array()
        .unwrap()
        .clone()
}

/// POSTs a body with an optional signature header; returns the status.
fn post(url: &str, signature: Option<String>, body: Vec<u8>) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut request = reqwest::Client::new().post(url).body(body);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request.send().await.expect("answered").status().as_u16()
    })
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn signed(secret: &str, body: &[u8]) -> Option<String> {
    Some(signature_header(secret, now(), body))
}

fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// "this run: … N poll(s)" of a runner's stderr.
fn polls(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("this run: "))
        .unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    let before = line.trim_end_matches(" poll(s)");
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Every call the sandbox made has exactly one finished attempt in the state file, with the
/// sandbox's final status as its outcome, and nothing is left open: no result lost, none twice.
fn assert_every_call_has_one_result(test: &Test, calls: &[Value]) {
    let state = state_path(test);
    let all = fixture::attempts(&state);
    let attempts: BTreeMap<String, (String, Option<String>)> = all
        .iter()
        .filter_map(|a| Some((a.call_id.clone()?, (a.state.clone(), a.outcome.clone()))))
        .collect();
    assert_eq!(attempts.len(), calls.len(), "one attempt per call");
    for call in calls {
        let id = call["callId"].as_str().unwrap();
        let (state, outcome) = &attempts[id];
        assert_eq!(state, "finished", "call {id}");
        assert_eq!(outcome.as_deref(), call["status"].as_str(), "call {id}");
    }
    let open = all
        .iter()
        .filter(|a| a.state == "placing" || a.state == "placed")
        .count();
    assert_eq!(open, 0, "attempts left open");
    let mut results: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for event in fixture::webhook_events(&state) {
        if event.effect == "result" {
            *results.entry(event.call_id).or_default() += 1;
        }
    }
    let twice = results.values().filter(|&&n| n > 1).count();
    assert_eq!(twice, 0, "a call's result recorded twice");
}

fn assert_every_row_has_its_result(test: &Test, rows: usize) {
    let mut reader = csv::Reader::from_path(test.path().join("results.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let status = headers.iter().position(|h| h == "status").unwrap();
    let records: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows);
    for r in &records {
        assert!(
            !matches!(&r[status], "pending" | "active" | "unknown"),
            "row without a result: {r:?}"
        );
    }
}

#[test]
fn a_campaign_is_finished_by_webhooks_each_retried_event_counted_once() {
    const ROWS: usize = 30;
    let test = setup(&contacts(
        ROWS - 5,
        &["0190", "0191", "0192", "0194", "0198"],
    ));
    // A third of delivery attempts are lost and retried 5, 10, 20, 40 simulated seconds later
    // with the same eventId. At 1/100 time a call lasts at most ~3 s and the safety net's first
    // poll comes 6 s after placement.
    let (sandbox, stderr) = finished_run(
        &test,
        &[
            "--time-scale",
            "0.01",
            "--seed",
            "5",
            "--webhook-fail-rate",
            "0.3",
        ],
    );
    let url = sandbox.base_url.clone();

    let calls = sandbox_calls(&url);
    assert_every_call_has_one_result(&test, &calls);
    assert_every_row_has_its_result(&test, ROWS);
    // Nearly every result came by webhook: at most one call in ten was polled.
    let state = state_path(&test);
    let by_webhook = results_by_webhook(&state).unwrap();
    let polled = polls(&stderr);
    assert!(
        polled * 10 <= calls.len() as u64,
        "{polled} polls for {} calls:\n{stderr}",
        calls.len()
    );
    assert!(
        by_webhook + polled as usize >= calls.len(),
        "{by_webhook} results by webhook, {polled} polls, {} calls:\n{stderr}",
        calls.len()
    );

    // The sandbox retried lost attempts; each event the runner acknowledged is recorded once.
    let attempts = get(&format!("{url}/sandbox/webhooks"))["attempts"]
        .as_array()
        .unwrap()
        .clone();
    let lost = attempts.iter().filter(|a| a["result"] == "lost").count();
    assert!(lost > 0, "the fault did not fire");
    let delivered: HashSet<&str> = attempts
        .iter()
        .filter(|a| a["result"] == "delivered")
        .map(|a| a["eventId"].as_str().unwrap())
        .collect();
    let recorded: Vec<String> = fixture::webhook_events(&state)
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    let recorded_set: HashSet<&str> = recorded.iter().map(String::as_str).collect();
    assert_eq!(recorded.len(), recorded_set.len());
    assert_eq!(
        recorded_set, delivered,
        "recorded events = delivered events"
    );
    let retried_then_delivered = attempts
        .iter()
        .filter(|a| a["result"] == "delivered" && a["attempt"].as_u64() > Some(1))
        .count();
    assert!(retried_then_delivered > 0, "no event needed a retry");
    assert!(stderr.contains("0 refused"), "{stderr}");
}

#[test]
fn bad_deliveries_are_refused_and_a_terminal_event_is_final() {
    // 555-0195 is answered and never ends by itself: only the events this test sends end these
    // two calls. The second keeps the run going until the test is done with the first.
    let test = setup("first_name,phone\nAna,646-555-0195\nWei,212-555-0195\n");
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.1", "--seed", "1"]);
    let url = sandbox.base_url.clone();
    let running = Running::start(runner(&test, &url));
    let state = state_path(&test);
    // The sandbox's own `call.in_progress` arrives and is committed.
    until("the calls' in_progress events", || {
        in_progress(&state) == Some(2)
    });
    let ids: Vec<String> = fixture::attempts(&state)
        .into_iter()
        .map(|a| a.call_id.expect("placed"))
        .collect();
    let (call_id, other) = (ids[0].clone(), ids[1].clone());
    let hook = running.receiver.clone();
    let events = || fixture::webhook_events(&state).len();
    let before = events();

    let done = json!({
        "event": "call.completed", "eventId": "evt_test_done", "callId": call_id,
        "status": "completed", "endedAt": "2026-01-05T09:10:00Z",
        "summary": "Confirmed by the test.", "extracted": {}, "transcript": null,
    })
    .to_string()
    .into_bytes();
    let mut tampered = done.clone();
    let at = tampered.len() - 40;
    tampered[at] ^= 1;
    let garbage = b"{\"event\": call.completed".to_vec();
    let oversized = vec![b' '; 2 * 1024 * 1024];
    let refused: Vec<(&str, Option<String>, Vec<u8>, u16)> = vec![
        ("unsigned", None, done.clone(), 401),
        (
            "wrong secret",
            signed("whsec_not_the_one", &done),
            done.clone(),
            401,
        ),
        (
            "stale replay",
            Some(signature_header(SECRET, now() - 400, &done)),
            done.clone(),
            401,
        ),
        ("tampered body", signed(SECRET, &done), tampered, 401),
        ("garbage JSON", signed(SECRET, &garbage), garbage, 400),
        ("oversized body", signed(SECRET, &oversized), oversized, 413),
    ];
    for (what, signature, body, status) in refused {
        assert_eq!(post(&hook, signature, body), status, "{what}");
    }
    assert_eq!(events(), before, "a refused delivery reached the state");
    let states: Vec<String> = fixture::attempts(&state)
        .into_iter()
        .map(|a| a.state)
        .collect();
    assert_eq!(states, ["placed", "placed"]);

    // An event for a call this campaign never made: recorded, ignored.
    let stranger = json!({
        "event": "call.completed", "eventId": "evt_test_stranger", "callId": "call_not_ours",
        "status": "completed",
    })
    .to_string()
    .into_bytes();
    assert_eq!(post(&hook, signed(SECRET, &stranger), stranger), 200);
    // The terminal event, then its retry, then an older `call.in_progress` arriving late.
    assert_eq!(post(&hook, signed(SECRET, &done), done.clone()), 200);
    assert_eq!(post(&hook, signed(SECRET, &done), done), 200);
    let late = json!({
        "event": "call.in_progress", "eventId": "evt_test_late", "callId": call_id,
        "status": "in_progress",
    })
    .to_string()
    .into_bytes();
    assert_eq!(post(&hook, signed(SECRET, &late), late), 200);

    // Ends the other call, and so the run.
    let end = json!({
        "event": "call.declined", "eventId": "evt_test_end", "callId": other,
        "status": "declined",
    })
    .to_string()
    .into_bytes();
    assert_eq!(post(&hook, signed(SECRET, &end), end), 200);

    let (code, stderr) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("webhook delivery refused: the X-BYS-Signature header is missing"),
        "the first refusal is shown: {stderr}"
    );
    assert!(stderr.contains("6 refused"), "{stderr}");
    assert!(
        !stderr.contains("Confirmed by the test"),
        "a body was logged"
    );

    let events = fixture::webhook_events(&state);
    let effects: Vec<(&str, &str, Option<i64>)> = events
        .iter()
        .filter(|e| e.event_id.starts_with("evt_test_"))
        .map(|e| (e.event_id.as_str(), e.effect.as_str(), e.attempt_id))
        .collect();
    assert_eq!(
        effects,
        [
            ("evt_test_stranger", "ignored", None),
            ("evt_test_done", "result", Some(1)),
            ("evt_test_late", "ignored", Some(1)),
            ("evt_test_end", "result", Some(2)),
        ]
    );
    let attempts = fixture::attempts(&state);
    let attempt: Vec<(&str, Option<&str>, Option<&str>, i64)> = attempts
        .iter()
        .map(|a| {
            let (outcome, status) = (a.outcome.as_deref(), a.status.as_deref());
            (a.state.as_str(), outcome, status, a.polls)
        })
        .collect();
    assert_eq!(
        attempt,
        [
            ("finished", Some("completed"), Some("completed"), 0),
            ("finished", Some("declined"), Some("declined"), 0)
        ]
    );
    let results = std::fs::read_to_string(test.path().join("results.csv")).unwrap();
    assert!(results.contains("Confirmed by the test."), "{results}");
}

/// A campaign of `contacts` whose runner is killed and started again: the receiver's address to
/// pass every run (the same port after a restart, so the sandbox's retries find the new
/// receiver). The sandbox on loopback handles a request at once: a POST of a killed runner takes
/// effect within 2 s of real time or never (`lost_answer_wait`).
fn killable(contacts: &str) -> (Test, String) {
    let test = campaign(SECTION)
        .limits("  lost_answer_wait: 2s")
        .write(contacts);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (test, format!("127.0.0.1:{port}"))
}

#[test]
fn a_runner_killed_mid_campaign_and_restarted_loses_and_duplicates_nothing() {
    const ROWS: usize = 40;
    let (test, listen) = killable(&contacts(ROWS - 3, &["0191", "0194", "0198"]));
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.01", "--seed", "9"]);
    let url = sandbox.base_url.clone();
    let state = state_path(&test);

    let mut command = runner(&test, &url);
    command.args(["--webhook-listen", &listen]);
    let mut first = Running::start(command);
    until("some results by webhook", || {
        results_by_webhook(&state).is_some_and(|n| n >= 8)
    });
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the campaign was over before the kill"
    );
    // Only our own child, by its handle: SIGKILL mid-campaign.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let mut command = runner(&test, &url);
    command.args(["--webhook-listen", &listen]);
    let (code, stderr) = run_to_end(command);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );

    let calls = sandbox_calls(&url);
    assert_every_call_has_one_result(&test, &calls);
    assert_every_row_has_its_result(&test, ROWS);
    // Each number was called as its policy allows, never more.
    let mut per_number: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &calls {
        *per_number.entry(call["to"].as_str().unwrap()).or_default() += 1;
    }
    assert_eq!(per_number["+16465550191"], 2);
    assert_eq!(per_number["+16465550194"], 2);
    assert_eq!(per_number["+16465550198"], 2);
    assert!(per_number.values().all(|&n| n <= 2), "{per_number:?}");
}

#[test]
fn with_every_delivery_lost_the_polling_safety_net_finishes_the_run() {
    const ROWS: usize = 12;
    let test = setup(&contacts(ROWS - 2, &["0191", "0190"]));
    let (sandbox, stderr) = finished_run(
        &test,
        &[
            "--time-scale",
            "0.001",
            "--seed",
            "3",
            "--webhook-fail-rate",
            "1",
        ],
    );
    let url = sandbox.base_url.clone();
    assert!(stderr.contains("webhooks: 0 event(s) received"), "{stderr}");
    let calls = sandbox_calls(&url);
    assert_every_call_has_one_result(&test, &calls);
    assert_every_row_has_its_result(&test, ROWS);
    assert!(polls(&stderr) >= calls.len() as u64, "{stderr}");
}

#[test]
fn a_late_terminal_event_finishes_a_call_given_up_as_unknown() {
    // 555-0195 ends after 10 simulated minutes here; the run gives it up after 1 + 5 (its
    // safety-net poll falls on the give-up instant). The run is still going (0191's retry is
    // due at 20 minutes) when the terminal event comes: it is recorded, and the row moves on.
    let yaml = campaign(SECTION)
        .limits("  max_call_minutes: 1")
        .yaml()
        .replace(
            "no_answer: { attempts: 2, after: 1m }",
            "no_answer: { attempts: 2, after: 20m }",
        );
    let test = Test::new()
        .file("campaign.yaml", yaml)
        .file("contacts.csv", contacts(0, &["0195", "0191"]));
    let (sandbox, stderr) =
        finished_run(&test, &["--time-scale", "0.001", "--stuck-minutes", "10"]);
    assert!(
        stderr.contains("contact +16465550195 is unknown: still in_progress "),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "contact +16465550195: the call given up as unknown ended after all (completed)"
        ),
        "{stderr}"
    );
    let rows: BTreeMap<String, BTreeMap<String, String>> = crate::run::results(&test)
        .into_iter()
        .map(|r| (r["first_name"].clone(), r))
        .collect();
    assert_eq!(rows["M0195"]["status"], "completed", "{rows:?}");
    let state = state_path(&test);
    let finished: HashSet<String> = fixture::attempts(&state)
        .into_iter()
        .filter(|a| a.state == "finished")
        .filter_map(|a| a.call_id)
        .collect();
    let completed_results = fixture::webhook_events(&state)
        .into_iter()
        .filter(|e| e.event == "call.completed" && e.effect == "result")
        .filter(|e| e.call_id.as_ref().is_some_and(|id| finished.contains(id)))
        .count();
    assert_eq!(completed_results, 1);
    let to_stuck = sandbox_calls(&sandbox.base_url)
        .into_iter()
        .filter(|c| c["to"] == "+16465550195")
        .count();
    assert_eq!(to_stuck, 1);
}

#[test]
fn a_rehearsal_with_a_webhook_section_gets_its_results_pushed() {
    let test = Test::new()
        .file(
            "campaign.yaml",
            campaign(
                "webhook:\n  listen: 127.0.0.1:0\n  public_url: https://hooks.example.com/bys\n",
            )
            .yaml(),
        )
        .file("contacts.csv", contacts(6, &["0190"]))
        .args(&["run", "campaign.yaml", "--sandbox"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("/bys (signed with a secret made up for this rehearsal)"),
        "{}",
        run.stderr
    );
    let state = test.path().join("hooks.rehearsal.state.db");
    let by_webhook = results_by_webhook(&state).unwrap();
    assert!(by_webhook > 0, "{}", run.stderr);
    // The in-process sandbox was given the receiver's loopback address, not the public URL.
    let sent: Vec<String> = fixture::attempts(&state)
        .into_iter()
        .map(|a| a.request)
        .collect();
    assert!(
        sent.iter()
            .all(|r| r.contains("\"webhookUrl\":\"http://127.0.0.1:")),
        "{sent:?}"
    );
}

#[test]
fn a_live_api_is_refused_a_plain_http_url_and_a_missing_secret() {
    let http = Test::new()
        .file(
            "campaign.yaml",
            campaign("webhook:\n  public_url: http://hooks.example.com/bys\n").yaml(),
        )
        .file("contacts.csv", contacts(1, &[]))
        .args(&[
            "run",
            "campaign.yaml",
            "--api-url",
            "https://api.example.com",
            "--yes",
        ]);
    let mut command = http.command();
    command
        .env("BYS_API_KEY", KEY)
        .env("BYS_WEBHOOK_SECRET", SECRET);
    assert_run!(output(command));
    assert!(
        !http.path().join("hooks.state.db").exists(),
        "nothing was started"
    );

    let unset = Test::new()
        .file("campaign.yaml", campaign(SECTION).yaml())
        .file("contacts.csv", contacts(1, &[]))
        .args(&[
            "run",
            "campaign.yaml",
            "--api-url",
            "http://127.0.0.1:9",
            "--yes",
        ]);
    let mut command = unset.command();
    command.env("BYS_API_KEY", KEY).env_remove("HOOKS_SECRET");
    assert_run!(output(command));
}

#[test]
fn validate_checks_the_webhook_section() {
    let run = Test::new()
        .file(
            "campaign.yaml",
            campaign(
                "webhook:\n  listen: localhost\n  public_url: hooks.example.com\n  secret_env: whsec_abc\n",
            ).yaml(),
        )
        .file("contacts.csv", contacts(1, &[]))
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_run!(run);
    let typo = Test::new()
        .file(
            "campaign.yaml",
            campaign("webhook:\n  listen: 127.0.0.1:8787\n  secret_var: HOOKS\n").yaml(),
        )
        .file("contacts.csv", contacts(1, &[]))
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_run!(typo);
}

#[test]
fn lost_answers_and_kills_in_webhook_mode_lose_and_duplicate_no_result() {
    // 5 % of the POSTs' answers lost (the calls exist), and the runner killed three times
    // mid-campaign: every call the API created ends with exactly one result, and no row is
    // unknown.
    const ROWS: usize = 60;
    let (test, listen) = killable(&contacts(ROWS, &[]));
    let sandbox = SandboxProcess::spawn(&[
        "--time-scale",
        "0.01",
        "--seed",
        "27",
        "--drop-after-create",
        "0.05",
    ]);
    let url = sandbox.base_url.clone();
    let state = state_path(&test);
    let command = || {
        let mut command = runner(&test, &url);
        command.args(["--webhook-listen", &listen]);
        command
    };
    for (kill, results) in [(1, 5), (2, 15), (3, 30)] {
        let mut running = Running::start(command());
        until("more results by webhook", || {
            results_by_webhook(&state).is_some_and(|n| n >= results)
        });
        assert!(
            running.child.try_wait().unwrap().is_none(),
            "the campaign was over before kill {kill}"
        );
        // Only our own child, by its handle: SIGKILL mid-campaign.
        running.child.kill().unwrap();
        running.child.wait().unwrap();
    }
    let (code, stderr) = run_to_end(command());
    assert_eq!(code, Some(0), "{stderr}");
    let calls = sandbox_calls(&url);
    assert_every_call_has_one_result(&test, &calls);
    assert_every_row_has_its_result(&test, ROWS);
}

#[test]
fn a_webhook_event_settles_a_lost_placement_and_an_unmatched_one_is_kept() {
    // An earlier version left Ana `unknown`: her POST's answer was lost and the list of calls
    // could not tell (its anchor is a call the list no longer shows). Her call's terminal event
    // comes to the receiver: it names her number and objective, and only her attempt could
    // have made it. 555-0195 never ends by itself and keeps the run going meanwhile.
    let test = setup("first_name,phone\nAna,212-555-0101\nWei,646-555-0195\n");
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.1", "--seed", "4"]);
    let url = sandbox.base_url.clone();
    let mut import = runner(&test, &url);
    import.args(["--max-calls", "0"]);
    assert_eq!(output(import).code, 75);
    let objective = "Confirm Ana's appointment.";
    let call_id = sandbox.place(KEY, "+12125550101", objective);
    let request = json!({"to": "+12125550101", "objective": objective}).to_string();
    let state = state_path(&test);
    fixture::unknown_lost_attempt(&state, "+12125550101", &request);
    fixture::set_anchor(&state, "+12125550101", "a-call-the-list-no-longer-shows");

    let running = Running::start(runner(&test, &url));
    until("Wei's call in progress", || in_progress(&state) == Some(1));
    let hook = running.receiver.clone();
    let done = json!({
        "event": "call.completed", "eventId": "evt_ana_done", "callId": call_id,
        "status": "completed", "to": "+12125550101", "objective": objective,
        "summary": "Confirmed.", "extracted": {}, "endedAt": "2026-01-05T09:10:00Z",
    })
    .to_string()
    .into_bytes();
    assert_eq!(post(&hook, signed(SECRET, &done), done), 200);
    let stranger = json!({
        "event": "call.completed", "eventId": "evt_stranger", "callId": "call_not_ours",
        "status": "completed", "to": "+13125550199", "objective": "Something else",
    })
    .to_string()
    .into_bytes();
    assert_eq!(post(&hook, signed(SECRET, &stranger), stranger), 200);
    let status = Test::new()
        .current_dir(test.path().to_owned())
        .args(&["status", "campaign.yaml"])
        .run();
    assert!(
        status
            .stdout
            .contains("Webhooks: events for 1 call this campaign has no attempt for"),
        "{}",
        status.stdout
    );
    // Ends Wei's call, and so the run.
    let wei = fixture::attempts(&state)
        .into_iter()
        .find(|a| a.contact_key == "+16465550195")
        .and_then(|a| a.call_id)
        .expect("Wei's call");
    let end = json!({
        "event": "call.declined", "eventId": "evt_wei_end", "callId": wei, "status": "declined",
    })
    .to_string()
    .into_bytes();
    assert_eq!(post(&hook, signed(SECRET, &end), end), 200);
    let (code, stderr) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("the call its lost answer may have placed was named by a webhook event"),
        "{stderr}"
    );
    let rows: BTreeMap<String, BTreeMap<String, String>> = crate::run::results(&test)
        .into_iter()
        .map(|r| (r["first_name"].clone(), r))
        .collect();
    assert_eq!(rows["Ana"]["status"], "completed", "{rows:?}");
    assert_eq!(rows["Ana"]["call_id"], call_id);
    assert_eq!(sandbox_calls(&url).len(), 2, "Ana was not called again");
}
