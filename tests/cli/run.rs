//! `bys-campaign run` against the real sandbox binary over loopback, with a real state file.
//!
//! What these prove, from the sandbox's own record of every call it was asked to place
//! (`GET /sandbox/calls`) and from the SQLite state file: a campaign runs to its end with every
//! row accounted for; killing the runner with SIGKILL at random moments, under lost answers and
//! server errors, never calls a number more often than its retry policy allows; a rate-limit
//! storm and error faults still end with every row accounted for; SIGTERM stops placing, follows
//! the calls in flight and resumes cleanly; and the guards refuse what they must.
//!
//! Nothing here measures speed: waits are bounded generously and assertions are on outcomes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;

use crate::support::{Campaign, SandboxProcess, Test, binary, contacts, fixture};

pub(crate) const KEY: &str = "bys_ak_test_runner";

/// The retry policy every campaign here uses (the lines under `retry:` in the campaign YAML).
pub(crate) const RETRY: &str = concat!(
    "  no_answer: { attempts: 2, after: 1m }\n",
    "  voicemail: { attempts: 2, after: 1m }\n",
    "  failed: { attempts: 2, after: 1m }\n",
    "  declined: { attempts: 1 }\n",
);

/// Calls in total a number may get when its previous call ended in `outcome`.
fn attempts_allowed(outcome: &str) -> usize {
    match outcome {
        "no_answer" | "voicemail" | "failed" => 2,
        "declined" | "completed" => 1,
        other => panic!("unexpected final status {other:?}"),
    }
}

/// A campaign keyed by number (a repeated number is a duplicate), no calling windows (the
/// simulated clock may fall on a weekend), the retry policy above, and a suppression list.
fn campaign(limits: &str) -> Campaign {
    Campaign::new("run")
        .limits(limits)
        .retry(RETRY)
        .suppress("+1 415 555 0150\n")
}

/// `n` plain contacts, 212-555-01NN from 01 on (never a magic number).
pub(crate) fn plain_contacts(n: usize) -> String {
    contacts(n, &[])
}

pub(crate) fn setup(limits: &str, contacts: &str) -> Test {
    campaign(limits).write(contacts)
}

/// The runner, `run campaign.yaml --api-url URL --yes` with a key, as a command to adjust.
pub(crate) fn runner(test: &Test, url: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["run", "campaign.yaml", "--api-url", url, "--yes"])
        .current_dir(test.path())
        .env("BYS_API_KEY", KEY)
        // The account's shared record goes in the test's folder, never the user's.
        .env("XDG_STATE_HOME", test.path().join("state-home"))
        .env_remove("BYS_API_URL")
        .env_remove("BYS_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Output of a finished command.
pub(crate) struct Done {
    pub(crate) code: Option<i32>,
    pub(crate) stderr: String,
}

pub(crate) fn run_to_end(mut command: Command) -> Done {
    let out = command.output().expect("the runner starts");
    Done {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `command` to its end, or killed after `limit` (its code is then `None`): for runs that
/// must end by themselves, bounded generously.
pub(crate) fn run_within(mut command: Command, limit: Duration) -> Done {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the runner starts");
    if wait_for(&mut child, limit).is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Done {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every call the sandbox was asked to place, oldest first.
pub(crate) fn sandbox_calls(url: &str) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let body: Value = reqwest::get(format!("{url}/sandbox/calls"))
            .await
            .expect("the sandbox answers")
            .json()
            .await
            .expect("JSON");
        body["calls"].as_array().expect("a list of calls").clone()
    })
}

pub(crate) fn ts(call: &Value, field: &str) -> Timestamp {
    call[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {call}"))
        .parse()
        .unwrap()
}

/// Replays each number's calls in the order the sandbox took them and checks that each call
/// after the first was allowed by the previous call's outcome and the retry policy, and that it
/// was placed only after the previous call had ended. Returns the number of calls per number.
pub(crate) fn assert_never_beyond_policy(calls: &[Value]) -> BTreeMap<String, usize> {
    let mut by_number: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for call in calls {
        by_number
            .entry(call["to"].as_str().unwrap().to_owned())
            .or_default()
            .push(call);
    }
    for (to, calls) in &by_number {
        for (i, call) in calls.iter().enumerate() {
            assert_eq!(call["callIndex"].as_u64(), Some(i as u64), "{to}: order");
            if i == 0 {
                continue;
            }
            let previous = calls[i - 1];
            let outcome = previous["finalStatus"].as_str().unwrap();
            assert!(
                i < attempts_allowed(outcome),
                "{to} was called {} times; call {} came after {outcome}, which allows {}:\n{:#?}",
                calls.len(),
                i + 1,
                attempts_allowed(outcome),
                calls
                    .iter()
                    .map(|c| (&c["createdAt"], &c["finalStatus"], &c["idempotencyKey"]))
                    .collect::<Vec<_>>()
            );
            assert!(
                ts(call, "createdAt") >= ts(previous, "endedAt"),
                "{to}: call {} was placed before call {} had ended",
                i + 1,
                i
            );
        }
    }
    by_number
        .into_iter()
        .map(|(to, calls)| (to, calls.len()))
        .collect()
}

/// The results CSV (`results.csv`) as one map of column to cell per row.
pub(crate) fn results(test: &Test) -> Vec<BTreeMap<String, String>> {
    results_in(&test.path().join("results.csv"))
}

/// The results CSV of a rehearsal (`run --sandbox`): `results.rehearsal.csv`.
pub(crate) fn rehearsal_results(test: &Test) -> Vec<BTreeMap<String, String>> {
    results_in(&test.path().join("results.rehearsal.csv"))
}

fn results_in(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

pub(crate) fn state_path(test: &Test) -> PathBuf {
    test.path().join("run.state.db")
}

/// Every call the sandbox created is known to the state file, and every call id the state file
/// holds was created by the sandbox.
pub(crate) fn assert_state_knows_every_call(test: &Test, calls: &[Value]) {
    let known: HashSet<String> = fixture::attempts(&state_path(test))
        .into_iter()
        .filter_map(|a| a.call_id)
        .collect();
    let created: HashSet<String> = calls
        .iter()
        .map(|c| c["callId"].as_str().unwrap().to_owned())
        .collect();
    let unknown: Vec<_> = created.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "calls the state file does not know: {unknown:?}"
    );
    let invented: Vec<_> = known.difference(&created).collect();
    assert!(
        invented.is_empty(),
        "call ids the sandbox never made: {invented:?}"
    );
}

/// Statuses of the results CSV; no row is `pending`. Returns the count per status.
/// Each attempt's `polls` is exactly how many times the sandbox answered a GET for its call:
/// polls that found nothing new are not written one by one, but every one is counted.
fn assert_polls_recorded(test: &Test, calls: &[Value]) {
    let polls_by_call: HashMap<String, i64> = fixture::attempts(&state_path(test))
        .into_iter()
        .filter_map(|a| Some((a.call_id?, a.polls)))
        .collect();
    let mut polled = 0;
    for call in calls {
        let id = call["id"].as_str().unwrap();
        let polls = u64::try_from(polls_by_call[id]).unwrap();
        assert_eq!(
            Some(polls),
            call["reads"].as_u64(),
            "call {id}: polls recorded vs GETs the sandbox answered"
        );
        polled += polls;
    }
    assert!(
        polled > calls.len() as u64,
        "calls were polled more than once"
    );
}

pub(crate) fn assert_every_row_has_its_result(test: &Test, rows: usize) -> BTreeMap<String, usize> {
    let results = results(test);
    assert_eq!(results.len(), rows, "one result per input row");
    let mut tally = BTreeMap::new();
    for row in &results {
        assert_ne!(row["status"], "pending", "row without a result: {row:?}");
        if row["status"] == "unknown" {
            assert!(!row["error"].is_empty(), "an unknown row says why: {row:?}");
        }
        *tally.entry(row["status"].clone()).or_insert(0) += 1;
    }
    tally
}

pub(crate) fn assert_nothing_open(test: &Test) {
    let open: Vec<_> = fixture::attempts(&state_path(test))
        .into_iter()
        .filter(|a| a.state == "placing" || a.state == "placed")
        .collect();
    assert!(open.is_empty(), "attempts left open: {open:?}");
}

/// A small deterministic generator for kill delays (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// Waits for a child up to `limit`; `None` if it is still running.
pub(crate) fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls until `check` holds, for up to 60 s.
pub(crate) fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_campaign_runs_to_its_end_and_a_second_run_places_nothing() {
    let contacts = "\
first_name,phone
Ana,(415) 555-0190
Wei,415-555-0191
Sam,415-555-0192
Joe,415-555-0193
Kim,415-555-0194
Lee,415-555-0196
Max,415-555-0197
Ola,415-555-0198
Pia,415-555-0199
Bad,not a number
Ren,415-555-0112
Ren again,+1 415 555 0112
Sup,415-555-0150
Tom,415-555-0113
";
    let test = setup("  calls_per_minute: 60\n  burst: 10", contacts);
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "7"]);
    let url = sandbox.base_url.clone();

    let first = run_to_end(runner(&test, &url));
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert!(first.stderr.contains("finished: every contact is settled"));

    let calls = sandbox_calls(&url);
    let per_number = assert_never_beyond_policy(&calls);
    assert_state_knows_every_call(&test, &calls);
    assert_polls_recorded(&test, &calls);
    // The magic numbers did what they always do, and the policy was followed.
    assert_eq!(per_number["+14155550190"], 1);
    assert_eq!(per_number["+14155550191"], 2);
    assert_eq!(per_number["+14155550193"], 1);
    assert_eq!(per_number["+14155550198"], 2);
    assert_eq!(per_number["+14155550112"], 1, "a duplicate is called once");
    for never in ["+14155550150", "+14155550196", "+14155550197"] {
        assert!(!per_number.contains_key(never), "{never} was called");
    }

    let csv = std::fs::read_to_string(test.path().join("results.csv")).unwrap();
    insta::with_settings!({ filters => vec![
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[ID]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    ]}, {
        insta::assert_snapshot!(csv);
    });

    let status = Test::new()
        .args(&["status"])
        .args(&[
            test.path().join("campaign.yaml").to_str().unwrap(),
            "--json",
        ])
        .run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    for unsettled in ["pending", "active", "unknown"] {
        assert!(
            status["contacts"].get(unsettled).is_none(),
            "{unsettled} contacts left: {status:#}"
        );
    }
    assert_eq!(status["in_flight"], 0);
    assert_eq!(status["due_now"], 0);
    assert_eq!(status["calls"].as_u64(), Some(calls.len() as u64));

    let again = run_to_end(runner(&test, &url));
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(
        sandbox_calls(&url).len(),
        calls.len(),
        "the second run placed calls"
    );
}

/// Kills the runner with SIGKILL at seeded random moments, resuming each time, until a run
/// ends by itself; then proves from the sandbox's records that no number was called beyond its
/// policy and that every row has its result. Returns how many rows ended `unknown`.
fn kill_until_done(seed: u64) -> usize {
    const ROWS: usize = 93;
    // Kills at random moments; the last round is left to finish (a loaded machine can make a
    // whole run longer than any kill delay), bounded generously.
    const ROUNDS: usize = 30;
    const LAST_ROUND_LIMIT: Duration = Duration::from_secs(120);
    // Magic numbers make retries certain: 0191 never answers, 0192 is always voicemail, 0194
    // always fails, 0198 answers the second time. And what must end anyway: 0195 never ends
    // (given up as unknown), 0196 is always refused by the carrier, 0197 is blocked.
    const MAGIC: [&str; 7] = ["0191", "0192", "0194", "0195", "0196", "0197", "0198"];
    let mut contacts = plain_contacts(ROWS - MAGIC.len());
    for n in MAGIC {
        contacts.push_str(&format!("M{n},646-555-{n}\n"));
    }
    // The one requested field goes unobtained in one completed call in six, and 0194 always
    // fails: about a fifth of the calls count as bad for the circuit breaker, which at its
    // default (10 of the last 20) trips by chance in some seeds. The breaker is not what this
    // test is about: a window of 100 keeps chance out of it.
    let test = setup(
        // The sandbox on loopback handles a request at once: a POST of a killed runner takes
        // effect within 2 s of real time or never.
        "  calls_per_minute: 300\n  burst: 20\n  max_concurrent: 20\n  breaker_window: 100\n  \
         lost_answer_wait: 2s",
        &contacts,
    );
    let sandbox = SandboxProcess::spawn(&[
        "--drop-after-create",
        "0.35",
        "--error-rate",
        "0.2",
        "--time-scale",
        "0.001",
        "--seed",
        &seed.to_string(),
    ]);
    let url = sandbox.base_url.clone();
    let log = test.path().join("runs.log");
    let mut rng = Rng(seed);
    let mut finished = None;
    for round in 0..ROUNDS {
        let mut command = runner(&test, &url);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        command.stdout(Stdio::null()).stderr(stderr);
        let imported = |log: &Path| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches("\ncontacts: ")
                .count()
        };
        let before = imported(&log);
        let mut child = command.spawn().expect("the runner starts");
        // Three kills in four fall while the run places and follows calls: the start of a run
        // (the import alone takes a second or two in a debug build) would otherwise take most
        // of them. The clock starts once the run has imported its contacts.
        if round % 4 != 0 {
            let deadline = Instant::now() + Duration::from_secs(60);
            while imported(&log) == before
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let delay = if round + 1 == ROUNDS {
            LAST_ROUND_LIMIT
        } else {
            Duration::from_millis(rng.between(50, 1500))
        };
        match wait_for(&mut child, delay) {
            Some(status) => {
                assert_eq!(
                    status.code(),
                    Some(0),
                    "round {round}: the runner failed:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                finished = Some(round);
                break;
            }
            None => {
                // Only our own child, by its handle: SIGKILL.
                child.kill().unwrap();
                child.wait().unwrap();
            }
        }
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        finished.is_some(),
        "seed {seed}: no run finished by itself in {ROUNDS} rounds (the last one given {LAST_ROUND_LIMIT:?}); last output:\n{}",
        &log_text[log_text.len().saturating_sub(3000)..]
    );
    let calls = sandbox_calls(&url);
    assert!(!calls.is_empty());
    assert_never_beyond_policy(&calls);
    assert_state_knows_every_call(&test, &calls);
    assert_nothing_open(&test);
    let tally = assert_every_row_has_its_result(&test, ROWS);
    let status_of = |phone: &str| {
        results(&test)
            .into_iter()
            .find(|r| r["phone"] == phone)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status_of("646-555-0195").as_deref(), Some("unknown"));
    assert_eq!(status_of("646-555-0196").as_deref(), Some("invalid"));
    assert_eq!(status_of("646-555-0197").as_deref(), Some("invalid"));
    eprintln!(
        "seed {seed}: finished after {} kill(s); {} calls; results {tally:?}",
        finished.unwrap(),
        calls.len()
    );
    tally.get("unknown").copied().unwrap_or(0)
}

#[test]
fn killed_at_random_moments_no_number_is_called_beyond_its_policy() {
    let unknown: usize = std::env::var("KILL_SEEDS")
        .map_or(vec![11, 12, 13], |v| {
            v.split(',').map(|s| s.parse().unwrap()).collect()
        })
        .into_iter()
        .map(kill_until_done)
        .sum();
    // `unknown` rows are allowed (a lost answer the API's list could not settle) but each one
    // says why (checked above); how many is reported here.
    eprintln!("unknown rows over all seeds: {unknown}");
}

#[test]
fn a_rate_limit_storm_with_errors_ends_with_every_row_accounted_for() {
    const ROWS: usize = 20;
    let test = setup(
        "  calls_per_minute: 60\n  burst: 10\n  max_concurrent: 10",
        &plain_contacts(ROWS),
    );
    let sandbox = SandboxProcess::spawn(&[
        "--rate-limit",
        "5/min",
        "--error-rate",
        "0.3",
        "--time-scale",
        "0.001",
        "--seed",
        "21",
    ]);
    let url = sandbox.base_url.clone();
    let done = run_to_end(runner(&test, &url));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let calls = sandbox_calls(&url);
    assert_never_beyond_policy(&calls);
    assert_state_knows_every_call(&test, &calls);
    assert_nothing_open(&test);
    let tally = assert_every_row_has_its_result(&test, ROWS);
    assert!(
        !tally.contains_key("invalid"),
        "no row may be given up because of a storm: {tally:?}"
    );
}

#[test]
fn lost_answers_while_a_list_is_out_do_not_freeze_the_run() {
    // Every POST's answer is lost and every request takes 1.5 real seconds: more placements
    // are lost, and their settle time passes, while the list that resolves the earlier ones is
    // still out. The runner once spun on that past instant without ever letting the list's
    // answer in, and never ended. Bounded generously: this checks that it ends, not speed.
    const ROWS: usize = 8;
    let test = setup(
        "  calls_per_minute: 60\n  burst: 10\n  max_concurrent: 4",
        &plain_contacts(ROWS),
    );
    let sandbox = SandboxProcess::spawn(&[
        "--drop-after-create",
        "1",
        "--latency",
        "1500",
        "--time-scale",
        "0.01",
        "--seed",
        "5",
    ]);
    let url = sandbox.base_url.clone();
    let done = run_within(runner(&test, &url), Duration::from_secs(300));
    assert_eq!(done.code, Some(0), "the run did not end: {}", done.stderr);
    let calls = sandbox_calls(&url);
    assert_never_beyond_policy(&calls);
    assert_nothing_open(&test);
    assert_every_row_has_its_result(&test, ROWS);
}

/// `rows` plain contacts and a runner against a sandbox seeded `seed`, returned once a few of
/// its calls are placed (stderr piped, for the signal tests).
///
/// Seed 31's 60 rows make 72 calls, 13 of them bad for the circuit breaker (failed, or
/// completed without the requested field): at its default (10 of the last 20) the order in
/// which results arrive could trip it. The breaker is not what these tests are about: a window of 100
/// keeps chance out of it.
fn mid_campaign(rows: usize, seed: &str) -> (Test, SandboxProcess, Child) {
    let test = setup(
        "  calls_per_minute: 60\n  burst: 5\n  max_concurrent: 10\n  breaker_window: 100",
        &plain_contacts(rows),
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.005", "--seed", seed]);
    let mut command = runner(&test, &sandbox.base_url);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = command.spawn().expect("the runner starts");
    until("a few calls placed", || {
        sandbox_calls(&sandbox.base_url).len() >= 5
    });
    (test, sandbox, child)
}

/// Sends SIGTERM to a runner `times` times, waits for it and checks it exited 130; its stderr.
/// A second signal waits until the run has taken the first (it wrote that it is stopping to
/// `state`): two signals of one kind sent at once reach a process as one.
fn terminate(child: Child, times: usize, state: &Path) -> String {
    for i in 0..times {
        if i > 0 {
            until("the run to take the first signal", || {
                fixture::stopping(state)
            });
        }
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    stderr
}

#[test]
fn sigterm_stops_placing_follows_calls_in_flight_then_a_run_resumes() {
    const ROWS: usize = 60;
    let (test, sandbox, child) = mid_campaign(ROWS, "31");
    let url = sandbox.base_url.clone();
    let stderr = terminate(child, 1, &state_path(&test));
    assert!(stderr.contains("stopping: no new calls"), "{stderr}");
    assert!(
        stderr.contains("calls already placed were followed to their end"),
        "{stderr}"
    );
    let stopped: Vec<_> = results(&test)
        .into_iter()
        .map(|row| row["status"].clone())
        .collect();
    assert_eq!(stopped.len(), ROWS);
    assert!(stopped.iter().any(|s| s == "pending"), "{stopped:?}");
    assert_nothing_open(&test);
    let placed_before = sandbox_calls(&url).len();

    let resumed = run_to_end(runner(&test, &url));
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    let calls = sandbox_calls(&url);
    assert!(calls.len() > placed_before);
    assert_never_beyond_policy(&calls);
    assert_state_knows_every_call(&test, &calls);
    assert_every_row_has_its_result(&test, ROWS);
}

/// A second Ctrl-C (here SIGTERM) quits without waiting for the calls in flight, which last
/// minutes at real time: they stay `placed` in the state file for the next run to follow, and
/// every call the API made is known to it (or is a POST still `placing`, which the next run
/// looks for before placing anything).
#[test]
fn a_second_signal_quits_at_once_and_leaves_the_calls_in_flight_to_the_next_run() {
    const ROWS: usize = 60;
    let test = setup(
        "  calls_per_minute: 600\n  burst: 1\n  max_concurrent: 100",
        &plain_contacts(ROWS),
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "1", "--seed", "5"]);
    let url = sandbox.base_url.clone();
    let mut command = runner(&test, &url);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = command.spawn().expect("the runner starts");
    until("a few calls placed", || sandbox_calls(&url).len() >= 3);
    let stderr = terminate(child, 2, &state_path(&test));
    assert!(stderr.contains("stopped at once"), "{stderr}");
    let attempts = fixture::attempts(&state_path(&test));
    let placed = attempts.iter().filter(|a| a.state == "placed").count();
    assert!(placed > 0, "calls in flight were left placed: {attempts:?}");
    let known: HashSet<&str> = attempts
        .iter()
        .filter_map(|a| a.call_id.as_deref())
        .collect();
    let placing = attempts.iter().filter(|a| a.state == "placing").count();
    let calls = sandbox_calls(&url);
    let unknown = calls
        .iter()
        .filter(|c| !known.contains(c["callId"].as_str().unwrap()))
        .count();
    assert!(
        unknown <= placing,
        "{unknown} call(s) the state file cannot account for ({placing} placing)"
    );
    assert!(calls.len() < ROWS, "stopped mid-campaign: {}", calls.len());
}

#[test]
fn without_a_key_or_sandbox_it_says_how_to_rehearse() {
    let run = setup("  calls_per_minute: 60", &plain_contacts(2))
        .args(&["run", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(run.stderr.contains("--sandbox"), "{}", run.stderr);
    assert!(run.stderr.contains("BYS_API_KEY"), "{}", run.stderr);
}

#[test]
fn a_live_run_without_a_terminal_needs_yes() {
    let test = setup("  calls_per_minute: 60", &plain_contacts(2));
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001"]);
    let mut command = Command::new(binary());
    command
        .args(["run", "campaign.yaml", "--api-url", &sandbox.base_url])
        .current_dir(test.path())
        .env("BYS_API_KEY", KEY)
        .env("XDG_STATE_HOME", test.path().join("state-home"))
        .stdin(Stdio::null());
    let done = run_to_end(command);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(done.stderr.contains("--yes"), "{}", done.stderr);
    assert!(sandbox_calls(&sandbox.base_url).is_empty());
}

/// `run` on a pseudo-terminal (made by util-linux `script`), answering the question with
/// `answer`: exit code and everything the terminal showed, with line ends made plain.
fn run_on_a_terminal(test: &Test, url: &str, answer: &str) -> (Option<i32>, String) {
    use std::io::Write as _;
    let line = format!("'{}' run campaign.yaml --api-url {url}", binary());
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .current_dir(test.path())
        .env("BYS_API_KEY", KEY)
        .env_remove("BYS_API_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs (it makes the pseudo-terminal)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (out.status.code(), shown)
}

#[test]
fn on_a_terminal_it_shows_the_plan_and_asks_before_calling() {
    let contacts = "\
first_name,phone
Ana,212-555-0101
Bo,212-555-0102
Cy,212-555-0103
Di,212-555-0104
Bad,not a number
Bo again,212-555-0102
Sup,415-555-0150
";
    let test = setup("  calls_per_minute: 60\n  max_calls: 50", contacts);
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001"]);
    let url = sandbox.base_url.clone();

    let (code, shown) = run_on_a_terminal(&test, &url, "n\n");
    assert_eq!(code, Some(0), "{shown}");
    assert!(sandbox_calls(&url).is_empty(), "a call went out after no");
    // From the summary to the question; what follows the question depends on whether the
    // terminal echoed the answer.
    let start = shown.find("About to call").expect("the summary is shown");
    let end = shown.find("[y/N]").expect("the question is asked") + "[y/N]".len();
    let question = &shown[start..end];
    assert!(shown.contains("nothing placed"), "{shown}");
    insta::with_settings!({ filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")] }, {
        insta::assert_snapshot!(question);
    });

    let (code, shown) = run_on_a_terminal(&test, &url, "y\n");
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(sandbox_calls(&url).len(), 4, "{shown}");
}

#[test]
fn a_second_runner_on_the_same_state_exits_at_once_naming_the_holder() {
    // 555-0195 stays in progress forever: the first runner never ends by itself.
    let test = setup(
        "  calls_per_minute: 60",
        "first_name,phone\nA,415-555-0195\n",
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001"]);
    let url = sandbox.base_url.clone();
    let mut command = runner(&test, &url);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let mut first = command.spawn().expect("the runner starts");
    until("the first runner's call", || {
        !sandbox_calls(&url).is_empty()
    });
    let second = run_to_end(runner(&test, &url));
    let still_running = first.try_wait().unwrap().is_none();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(still_running, "the first runner should still be running");
    assert_eq!(second.code, Some(75), "{}", second.stderr);
    assert!(
        second.stderr.contains(&first.id().to_string()),
        "names the holder's pid {}: {}",
        first.id(),
        second.stderr
    );
    assert_eq!(
        sandbox_calls(&url).len(),
        1,
        "the second runner placed nothing"
    );
}

#[test]
fn a_bad_key_stops_the_run_and_marks_nothing_done() {
    let test = setup("  calls_per_minute: 60", &plain_contacts(3));
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--api-key", "bys_ak_right"]);
    let done = run_to_end(runner(&test, &sandbox.base_url));
    assert_eq!(done.code, Some(77), "{}", done.stderr);
    assert!(done.stderr.contains("unauthorized"), "{}", done.stderr);
    assert!(sandbox_calls(&sandbox.base_url).is_empty());
    let settled = fixture::contacts(&state_path(&test))
        .iter()
        .filter(|c| c.state != "pending")
        .count();
    assert_eq!(settled, 0, "a refused run settles no contact");
    let statuses: Vec<_> = results(&test)
        .into_iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, ["pending", "pending", "pending"]);
}

#[test]
fn max_calls_places_exactly_that_many_then_stops() {
    let test = setup("  calls_per_minute: 60\n  burst: 10", &plain_contacts(8));
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "5"]);
    let mut command = runner(&test, &sandbox.base_url);
    command.args(["--max-calls", "3"]);
    let done = run_to_end(command);
    // Work remains: never 0.
    assert_eq!(done.code, Some(75), "{}", done.stderr);
    assert!(
        done.stderr.contains(
            "stopped placing: --max-calls 3 reached; work remains: run again to continue"
        ),
        "{}",
        done.stderr
    );
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 3);
    assert_nothing_open(&test);
}

/// Sizes of the rounds the first `first` attempts were placed in: a round's attempts are
/// committed together, at one instant.
fn round_sizes(state: &Path, first: usize) -> Vec<usize> {
    let created: Vec<i64> = fixture::attempts(state)
        .iter()
        .take(first)
        .map(|a| a.created_at)
        .collect();
    created.chunk_by(|a, b| a == b).map(<[i64]>::len).collect()
}

#[test]
fn placements_go_out_in_rounds_of_what_a_second_of_the_rate_allows() {
    // The rounds the first 12 attempts went out in: their first sizes, and the most in one.
    for (limits, first, most) in [
        // 600/min: 10 in a second, but one short of the burst of 10.
        (
            "  calls_per_minute: 600\n  burst: 10\n  max_concurrent: 50",
            vec![9, 3],
            9,
        ),
        // The burst bounds a round.
        (
            "  calls_per_minute: 600\n  burst: 3\n  max_concurrent: 50",
            vec![2; 6],
            2,
        ),
        // So does the room under max_concurrent: then a round places what calls ending free.
        (
            "  calls_per_minute: 600\n  burst: 10\n  max_concurrent: 4",
            vec![4],
            4,
        ),
        // Below 120/min, one at a time.
        (
            "  calls_per_minute: 60\n  burst: 10\n  max_concurrent: 50",
            vec![1; 12],
            1,
        ),
    ] {
        let test = setup(limits, &plain_contacts(12));
        let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "5"]);
        let done = run_to_end(runner(&test, &sandbox.base_url));
        assert_eq!(done.code, Some(0), "{limits}: {}", done.stderr);
        let rounds = round_sizes(&state_path(&test), 12);
        assert!(rounds.starts_with(&first), "{limits}: {rounds:?}");
        assert!(rounds.iter().all(|&n| n <= most), "{limits}: {rounds:?}");
        assert_eq!(rounds.iter().sum::<usize>(), 12, "{limits}: {rounds:?}");
        assert_never_beyond_policy(&sandbox_calls(&sandbox.base_url));
        assert_nothing_open(&test);
    }
}

#[test]
fn a_caller_id_the_account_does_not_own_stops_the_run() {
    let test = setup("  calls_per_minute: 60", &plain_contacts(3)).file(
        "campaign.yaml",
        campaign("  calls_per_minute: 60")
            .yaml()
            .replace("call:\n", "call:\n  caller_id: \"+14155550109\"\n"),
    );
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001"]);
    let done = run_to_end(runner(&test, &sandbox.base_url));
    assert_eq!(done.code, Some(77), "{}", done.stderr);
    assert!(
        done.stderr.contains("caller_id_not_owned"),
        "{}",
        done.stderr
    );
    assert!(sandbox_calls(&sandbox.base_url).is_empty());
}

/// Checks that no two calls to one number overlapped: each was placed after the previous one
/// to that number had ended. Returns the calls per number.
fn assert_one_call_at_a_time(calls: &[Value]) -> BTreeMap<String, usize> {
    let mut by_number: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for call in calls {
        by_number
            .entry(call["to"].as_str().unwrap().to_owned())
            .or_default()
            .push(call);
    }
    for (to, calls) in &by_number {
        for pair in calls.windows(2) {
            assert!(
                ts(pair[1], "createdAt") >= ts(pair[0], "endedAt"),
                "{to}: two calls in flight at once"
            );
        }
    }
    by_number
        .into_iter()
        .map(|(to, calls)| (to, calls.len()))
        .collect()
}

#[test]
fn rows_sharing_a_number_are_called_one_at_a_time_even_when_answers_are_lost() {
    // With a key column, rows that share a number are separate contacts: each is called, never
    // two at once. 555-0198's first call is unanswered (that row is called again), then every
    // call to it completes.
    let contacts = "\
id,first_name,phone
a1,A,415-555-0190
a2,B,415-555-0190
a3,C,415-555-0190
b1,D,415-555-0198
b2,E,415-555-0198
b3,F,415-555-0198
";
    let test = campaign("  calls_per_minute: 60\n  burst: 10")
        .keyed_by_id()
        .write(contacts);
    let sandbox = SandboxProcess::spawn(&[
        "--drop-after-create",
        "0.3",
        "--time-scale",
        "0.001",
        "--seed",
        "41",
    ]);
    let url = sandbox.base_url.clone();
    let done = run_to_end(runner(&test, &url));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let calls = sandbox_calls(&url);
    let per_number = assert_one_call_at_a_time(&calls);
    assert_state_knows_every_call(&test, &calls);
    assert_nothing_open(&test);
    let tally = assert_every_row_has_its_result(&test, 6);
    assert_eq!(tally.get("completed"), Some(&6), "{tally:?}");
    assert_eq!(per_number["+14155550190"], 3);
    assert_eq!(per_number["+14155550198"], 4);
}

#[test]
fn a_result_reaches_the_state_file_within_a_second_when_no_placement_follows_it() {
    // Answers wait in an open group of steps until the next round of placements commits them,
    // but never longer than a second: here the next placement (the retry) is 18 real seconds
    // away, and `status` from another process sees the result long before it.
    let test = setup("  calls_per_minute: 60\n  burst: 10", &plain_contacts(1)).file(
        "campaign.yaml",
        campaign("  calls_per_minute: 60\n  burst: 10")
            .yaml()
            .replace(
                "no_answer: { attempts: 2, after: 1m }",
                "no_answer: { attempts: 2, after: 30m }",
            ),
    );
    let sandbox = SandboxProcess::spawn(&[
        "--time-scale",
        "0.01",
        "--outcomes",
        "no_answer=1",
        "--seed",
        "5",
    ]);
    let mut command = runner(&test, &sandbox.base_url);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = command.spawn().expect("the runner starts");
    until("the call to end", || {
        sandbox_calls(&sandbox.base_url)
            .first()
            .is_some_and(|call| call["status"] == "no_answer")
    });
    let ended = Instant::now();
    let finished = || -> u64 {
        let run = Test::new()
            .current_dir(test.path().to_owned())
            .args(&["status", "campaign.yaml", "--json"])
            .run();
        assert_eq!(run.code, 0, "{}", run.transcript());
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        doc["attempts"]["finished"].as_u64().unwrap_or(0)
    };
    while finished() == 0 {
        assert!(
            ended.elapsed() < Duration::from_secs(5),
            "the result of a call that ended was not committed within 5 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        sandbox_calls(&sandbox.base_url).len(),
        1,
        "the retry is not due yet"
    );
    let stderr = terminate(child, 1, &state_path(&test));
    assert!(stderr.contains("stopping: no new calls"), "{stderr}");
}

#[test]
fn a_second_sigterm_exits_at_once_and_the_next_run_finishes_the_campaign() {
    const ROWS: usize = 30;
    let (test, sandbox, mut child) = mid_campaign(ROWS, "51");
    let url = sandbox.base_url.clone();
    let pid = child.id().to_string();
    let term = || {
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
    };
    // The second signal is sent once the first one has been taken in (two signals sent before
    // a process handles the first are one signal, as for any Unix process).
    let reader = BufReader::new(child.stderr.take().unwrap());
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let collector = std::thread::spawn(move || {
        for line in reader.lines() {
            let line = line.unwrap();
            let _ = lines_tx.send(line.clone());
        }
    });
    term();
    let mut stderr = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stderr.contains("stopping: no new calls") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no word of stopping after SIGTERM:\n{stderr}"));
        stderr.push_str(&line);
        stderr.push('\n');
    }
    term();
    let status = child.wait().unwrap();
    collector.join().unwrap();
    stderr.extend(lines.try_iter().map(|line| line + "\n"));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped at once"), "{stderr}");

    let resumed = run_to_end(runner(&test, &url));
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    let calls = sandbox_calls(&url);
    assert_never_beyond_policy(&calls);
    assert_state_knows_every_call(&test, &calls);
    assert_nothing_open(&test);
    assert_every_row_has_its_result(&test, ROWS);
}

#[test]
fn an_unknown_contact_is_called_again_only_with_retry_unknown() {
    let test = setup("  calls_per_minute: 60\n  burst: 10", &plain_contacts(2));
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "7"]);
    // Import only, then make the first contact's earlier call unresolvable, as a lost POST whose
    // call could not be found would leave it (long ago: the hold on its number is over).
    let mut import = runner(&test, &sandbox.base_url);
    import.args(["--max-calls", "0"]);
    assert_eq!(run_to_end(import).code, Some(75));
    fixture::unknown_since_long_ago(
        &state_path(&test),
        "+12125550101",
        r#"{"to":"+12125550101","objective":"x"}"#,
        Timestamp::UNIX_EPOCH,
    );

    let done = run_to_end(runner(&test, &sandbox.base_url));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let called: Vec<String> = sandbox_calls(&sandbox.base_url)
        .iter()
        .map(|c| c["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        called,
        vec!["+12125550102".to_owned()],
        "an unknown contact is not called again"
    );
    let rows = results(&test);
    assert_eq!(rows[0]["status"], "unknown");
    assert!(
        rows[0]["error"].contains("--retry-unknown"),
        "{:?}",
        rows[0]
    );

    let mut again = runner(&test, &sandbox.base_url);
    again.arg("--retry-unknown");
    let done = run_to_end(again);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("--retry-unknown: 1 contact(s)"),
        "{}",
        done.stderr
    );
    let calls = sandbox_calls(&sandbox.base_url);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["to"], "+12125550101");
    assert_ne!(results(&test)[0]["status"], "unknown");
    assert_nothing_open(&test);
}

#[test]
fn a_number_whose_call_may_be_ringing_is_not_called_before_that_call_could_have_ended() {
    // Two rows share a number. The first one's last call is unknown: it may have been placed,
    // and may be ringing now. The second row is called, but only once that call could no longer
    // be going on (limits.max_call_minutes after it became unknown), and the run waits for that
    // instant rather than stopping or hanging.
    let contacts = "id,first_name,phone\na1,Ana,212-555-0101\na2,Wei,212-555-0101\n";
    let test = campaign("  calls_per_minute: 60\n  burst: 10\n  max_call_minutes: 20")
        .keyed_by_id()
        .write(contacts);
    // 20 simulated minutes are 12 real seconds: time enough to start the run inside them, even
    // on a loaded machine (5 minutes, 3 seconds, were not always).
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.01", "--seed", "7"]);
    let mut import = runner(&test, &sandbox.base_url);
    import.args(["--max-calls", "0"]);
    assert_eq!(run_to_end(import).code, Some(75));
    let held_until = sandbox.now() + jiff::SignedDuration::from_mins(20);
    fixture::unknown_since_long_ago(
        &state_path(&test),
        "a1",
        r#"{"to":"+12125550101","objective":"x"}"#,
        held_until,
    );

    let mut again = runner(&test, &sandbox.base_url);
    again.arg("--retry-unknown");
    let done = run_to_end(again);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains(
            "--retry-unknown: 1 contact(s) stay unknown: their call may still be going on until"
        ),
        "{}",
        done.stderr
    );
    let calls = sandbox_calls(&sandbox.base_url);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        ts(&calls[0], "createdAt") >= held_until,
        "called at {} while the unknown call could still be going on (until {held_until})",
        calls[0]["createdAt"]
    );
    let rows = results(&test);
    assert_eq!(rows[0]["status"], "unknown");
    assert_eq!(rows[1]["call_id"], calls[0]["id"].as_str().unwrap());
}

#[test]
fn a_rehearsal_needs_no_key_and_writes_results() {
    // The README quickstart: the built-in sandbox, in-process, on its own fast clock.
    let test = setup("  calls_per_minute: 60\n  burst: 10", &plain_contacts(5)).args(&[
        "run",
        "campaign.yaml",
        "--sandbox",
    ]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rehearsal: calling the built-in sandbox"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("finished: every contact is settled"),
        "{}",
        run.stderr
    );
    let rows = rehearsal_results(&test);
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["status"] != "pending" && !r["call_id"].is_empty()),
        "{rows:?}"
    );
    // The rehearsal kept to its own files: the live state and results do not exist, and
    // status reads the rehearsal only when asked to.
    assert!(test.path().join("run.rehearsal.state.db").exists());
    assert!(!test.path().join("run.state.db").exists());
    assert!(!test.path().join("results.csv").exists());
    let status = Test::new()
        .args(&[
            "status",
            test.path().join("campaign.yaml").to_str().unwrap(),
        ])
        .run();
    assert_eq!(status.code, 66, "no live run yet: {}", status.stderr);
    let status = Test::new()
        .args(&[
            "status",
            test.path().join("campaign.yaml").to_str().unwrap(),
            "--rehearsal",
            "--json",
        ])
        .run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["contacts"]["done"].as_u64(), Some(5), "{status:#}");
}

#[test]
fn a_rehearsal_resumed_after_a_kill_gives_up_calls_its_old_sandbox_took_along() {
    // The built-in sandbox lives and dies with its run: calls in flight when a rehearsal is
    // killed are unknown to the next run's sandbox (404). They must end `unknown`, with the
    // reason, not be polled forever.
    const ROWS: usize = 6;
    let test = setup(
        "  calls_per_minute: 600\n  burst: 10\n  max_concurrent: 10",
        &plain_contacts(ROWS),
    );
    let rehearse = || {
        let mut command = Command::new(binary());
        command
            .args(["run", "campaign.yaml", "--sandbox", "--time-scale", "0.01"])
            .current_dir(test.path())
            .env_remove("BYS_API_KEY")
            .env_remove("BYS_API_URL")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    let state = test.path().join("run.rehearsal.state.db");
    let mut first = rehearse().spawn().unwrap();
    until("a call in flight", || {
        // The runner may be creating the file: not there yet (opening it would create it), or
        // without its tables.
        fixture::attempts_once_ready(&state)
            .is_some_and(|attempts| attempts.iter().any(|a| a.state == "placed"))
    });
    first.kill().unwrap();
    first.wait().unwrap();
    let in_flight = fixture::attempts(&state)
        .iter()
        .filter(|a| a.state == "placed")
        .count();
    assert!(in_flight > 0);

    let mut second = rehearse().spawn().unwrap();
    let status = wait_for(&mut second, Duration::from_secs(120));
    if status.is_none() {
        second.kill().unwrap();
        second.wait().unwrap();
        panic!("the resumed rehearsal did not end");
    }
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let rows = rehearsal_results(&test);
    let unknown: Vec<_> = rows.iter().filter(|r| r["status"] == "unknown").collect();
    assert!(unknown.len() >= in_flight, "{rows:?}");
    assert!(
        unknown
            .iter()
            .all(|r| r["error"].contains("the API no longer knows call")),
        "{unknown:?}"
    );
    assert!(rows.iter().all(|r| r["status"] != "pending"), "{rows:?}");
}

#[test]
fn a_state_file_of_simulated_calls_refuses_a_live_api() {
    // Calls placed against a sandbox settle contacts with simulated results; the same state
    // file must not then go on against the real API (or the reverse), whatever --state says.
    let test = setup("  calls_per_minute: 60\n  burst: 10", &plain_contacts(2)).args(&[
        "run",
        "campaign.yaml",
        "--sandbox",
    ]);
    let rehearsal = test.run();
    assert_eq!(rehearsal.code, 0, "{}", rehearsal.stderr);
    // A live API on loopback that is not a sandbox: nothing listens on port 9, so nothing
    // could be placed anyway; the refusal must come before any request.
    let live = Command::new(binary())
        .args([
            "run",
            "campaign.yaml",
            "--state",
            "run.rehearsal.state.db",
            "--api-url",
            "http://127.0.0.1:9",
            "--yes",
        ])
        .current_dir(test.path())
        .env("BYS_API_KEY", KEY)
        .env("XDG_STATE_HOME", test.path().join("state-home"))
        .env_remove("BYS_API_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert_eq!(live.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("holds simulated (sandbox) calls"),
        "{stderr}"
    );
}

#[test]
fn a_changed_key_column_is_refused_before_anyone_is_called_again() {
    // Each row's identity is its number, then `id`: every contact would be new, and called a
    // second time. The run refuses, naming the change and both ways out.
    let contacts = "id,first_name,phone\nA1,Ana,212-555-0101\nA2,Wei,212-555-0102\n";
    let test = setup("  calls_per_minute: 60\n  burst: 10", contacts).args(&[
        "run",
        "campaign.yaml",
        "--sandbox",
    ]);
    let first = test.run();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let state = test.path().join("run.rehearsal.state.db");
    let attempts = || fixture::attempts(&state).len();
    assert_eq!(attempts(), 2);
    let keyed = campaign("  calls_per_minute: 60\n  burst: 10")
        .keyed_by_id()
        .yaml();
    let test = test.file("campaign.yaml", keyed);
    let second = test.run();
    assert_eq!(second.code, 78, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("knows its contacts by their phone number")
            && second.stderr.contains("by column `id`")
            && second.stderr.contains("--state NEW_FILE"),
        "{}",
        second.stderr
    );
    assert_eq!(attempts(), 2, "nobody was called again");
}
