//! Runner benchmark: the real `bys-campaign run` against the real `bys-campaign sandbox`, on
//! generated campaigns, printing the performance figures of issue 4 beside their targets.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example runner_bench -- [--rows 2000] [--memory-rows 10000,100000]
//!     [--memory-calls 1000] [--calls-per-minute 600] [--burst 10] [--time-scale 0.1]
//!     [--seed 1] [--bin target/release/bys-campaign] [--keep]
//!     [--webhook-rows 200] [--webhook-time-scale 1] [--webhook-fail-rate 0]
//!     [--drop-after-create 0]
//! ```
//!
//! `--drop-after-create P` has the sandbox lose that share of the rate run's POST answers (the
//! calls exist): what settling lost answers costs the placement rate, and whether every call
//! still reaches the results (the run prints how many answers were lost and how many rows
//! ended `unknown`).
//!
//! Each run writes a campaign (YAML + CSV of fictional US 555-01xx numbers, no schedule, no
//! retries, `max_concurrent` high enough that the run is bound by `calls_per_minute`) into a
//! temp folder, starts `bys-campaign sandbox --port 0 --time-scale F`, and runs
//! `bys-campaign run --api-url URL --yes` as a child process that follows the sandbox's
//! simulated clock. Then it reads the sandbox's `/sandbox/calls` and the runner's state file.
//!
//! 1. Rate run (`--rows`, every row called): placement rate from the sandbox's creation times
//!    against `calls_per_minute`, and the most placements in any sliding 60 s window against
//!    `calls_per_minute + burst`; polls per call (`attempts.polls`) against the SDK's
//!    3-second `wait_for_call` loop on the same calls (⌈(end − creation) / 3 s⌉ each); the
//!    delay from a call's end to its result being committed (`attempts.finished_at`); CPU
//!    seconds of the runner per 1,000 calls; its peak RSS.
//! 2. Memory runs (`--memory-rows`, each capped at `--memory-calls` placements so that they
//!    end in minutes): peak RSS of the runner with that many rows imported, followed and
//!    exported, to show memory does not grow with rows.
//!
//! 3. Webhook run (`--webhook-rows`, issue 6): the same campaign with a `webhook` section, the
//!    sandbox delivering signed events to the runner's receiver, at `--webhook-time-scale`
//!    (default 1×: real time, so the delay is not flattered by a fast clock). Polls per call,
//!    overall and for the calls whose result came by webhook (target 0), and the delay from a
//!    call's end to its result committed for those calls (target < 1 s). With
//!    `--webhook-fail-rate` the sandbox loses that share of delivery attempts, to show the
//!    polling safety net at work.
//!
//! Times are simulated seconds unless said otherwise. It prints what it measured and asserts
//! nothing. CPU comes from `/proc/self/stat` (children's user+sys, exact once the runner is
//! reaped); peak RSS is VmHWM from `/proc/<pid>/status`, polled every 5 ms while it runs. If
//! the runner is busy most of the wall time, the time scale is too fast for the machine and the
//! timing figures describe the machine, not the runner: the benchmark says so. The default scale,
//! 0.1, leaves room for the commits that wait for the disk (a couple of real milliseconds each).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bys_campaign::phone;
use jiff::Timestamp;
use serde_json::Value;

use common::{binary, fail, vm_hwm_kib};

mod common;

const KEY: &str = "bys_ak_bench";
/// The SDK's `wait_for_call` polls every 3 seconds.
const SDK_INTERVAL_SECS: f64 = 3.0;
const WEBHOOK_SECRET_ENV: &str = "BYS_BENCH_WEBHOOK_SECRET";

/// How a run differs from the rate run: campaign additions, time scale, sandbox flags.
struct Mode {
    yaml: String,
    time_scale: f64,
    sandbox_args: Vec<String>,
}

impl Mode {
    fn polling(o: &Options) -> Mode {
        let mut sandbox_args = Vec::new();
        if o.drop_after_create > 0.0 {
            sandbox_args.push("--drop-after-create".to_owned());
            sandbox_args.push(o.drop_after_create.to_string());
        }
        Mode {
            yaml: String::new(),
            time_scale: o.time_scale,
            sandbox_args,
        }
    }
}

struct Options {
    rows: u64,
    memory_rows: Vec<u64>,
    memory_calls: u64,
    calls_per_minute: u32,
    burst: u32,
    time_scale: f64,
    seed: u64,
    bin: Option<PathBuf>,
    keep: bool,
    webhook_rows: u64,
    webhook_time_scale: f64,
    webhook_fail_rate: f64,
    drop_after_create: f64,
}

fn options() -> Options {
    let mut o = Options {
        rows: 2_000,
        memory_rows: vec![10_000, 100_000],
        memory_calls: 1_000,
        calls_per_minute: 600,
        burst: 10,
        time_scale: 0.1,
        seed: 1,
        bin: None,
        keep: false,
        webhook_rows: 200,
        webhook_time_scale: 1.0,
        webhook_fail_rate: 0.0,
        drop_after_create: 0.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--keep" {
            o.keep = true;
            continue;
        }
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        let number = |what: &str| -> u64 {
            value
                .parse()
                .unwrap_or_else(|_| fail(&format!("{flag} {what}: not {value:?}")))
        };
        match flag.as_str() {
            "--rows" => o.rows = number("N"),
            "--memory-rows" => {
                o.memory_rows = value
                    .split(',')
                    .filter(|s| !s.is_empty() && *s != "0")
                    .map(|s| {
                        s.parse()
                            .unwrap_or_else(|_| fail(&format!("--memory-rows: not {s:?}")))
                    })
                    .collect();
            }
            "--memory-calls" => o.memory_calls = number("N"),
            "--calls-per-minute" => o.calls_per_minute = number("N") as u32,
            "--burst" => o.burst = number("N") as u32,
            "--time-scale" => {
                o.time_scale = value
                    .parse()
                    .ok()
                    .filter(|f: &f64| *f > 0.0 && *f <= 1.0)
                    .unwrap_or_else(|| fail("--time-scale F: 0 < F <= 1"));
            }
            "--seed" => o.seed = number("N"),
            "--webhook-rows" => o.webhook_rows = number("N"),
            "--webhook-time-scale" => {
                o.webhook_time_scale = value
                    .parse()
                    .ok()
                    .filter(|f: &f64| *f > 0.0 && *f <= 1.0)
                    .unwrap_or_else(|| fail("--webhook-time-scale F: 0 < F <= 1"));
            }
            "--webhook-fail-rate" => {
                o.webhook_fail_rate = value
                    .parse()
                    .ok()
                    .filter(|f: &f64| (0.0..=1.0).contains(f))
                    .unwrap_or_else(|| fail("--webhook-fail-rate F: 0 <= F <= 1"));
            }
            "--drop-after-create" => {
                o.drop_after_create = value
                    .parse()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .unwrap_or_else(|| fail("--drop-after-create P: 0 <= P <= 1"));
            }
            "--bin" => o.bin = Some(PathBuf::from(value)),
            other => fail(&format!("unknown option {other}")),
        }
    }
    o
}

/// Fictional numbers: 555-0100..0189 in every area code libphonenumber accepts as a US number
/// (0190..0199 are the sandbox's magic numbers).
fn numbers() -> Vec<String> {
    let mut numbers = Vec::new();
    for area in 201..=989 {
        let probe = format!("({area}) 555-0100");
        if phone::normalize(&probe, Some(phone::Region::US)).is_err() {
            continue;
        }
        for line in 100..190 {
            numbers.push(format!("({area}) 555-0{line}"));
        }
    }
    numbers
}

/// Writes `campaign.yaml` and `contacts.csv` with `rows` rows into `dir`. Rows are keyed by id,
/// so a number may come back after every other number has been used once.
fn write_campaign(dir: &Path, rows: u64, o: &Options, numbers: &[String], extra: &str) {
    let yaml = format!(
        "name: bench
input:
  path: contacts.csv
  phone_column: phone
  key_column: id
  default_region: US
call:
  objective: \"Confirm the delivery window of order {{{{ id }}}} with {{{{ first_name }}}}.\"
  context: \"{{{{ note }}}}\"
fields:
  - {{ name: confirmed, type: boolean }}
  - {{ name: window }}
limits:
  calls_per_minute: {cpm}
  burst: {burst}
  max_concurrent: 10000
retry:
  no_answer: {{ attempts: 1 }}
  voicemail: {{ attempts: 1 }}
  failed: {{ attempts: 1 }}
  declined: {{ attempts: 1 }}
output:
  path: results.csv
{extra}",
        cpm = o.calls_per_minute,
        burst = o.burst,
    );
    std::fs::write(dir.join("campaign.yaml"), yaml).expect("write the campaign");
    let mut csv = String::with_capacity(rows as usize * 80);
    csv.push_str("id,first_name,phone,note\n");
    for i in 0..rows {
        let number = &numbers[i as usize % numbers.len()];
        let _ = writeln!(
            csv,
            "ord-{i:06},Person {i},{number},Leave it with a neighbour if nobody is home ({i})"
        );
    }
    std::fs::write(dir.join("contacts.csv"), csv).expect("write the contacts");
}

/// A `bys-campaign sandbox` child, killed on drop.
struct SandboxProcess {
    child: Child,
    url: String,
}

impl SandboxProcess {
    fn start(bin: &Path, dir: &Path, o: &Options, mode: &Mode) -> SandboxProcess {
        let stderr = std::fs::File::create(dir.join("sandbox.stderr")).expect("sandbox log");
        let mut child = Command::new(bin)
            .args(["sandbox", "--port", "0", "--seed"])
            .arg(o.seed.to_string())
            .arg("--time-scale")
            .arg(mode.time_scale.to_string())
            .args(&mode.sandbox_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", bin.display())));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the sandbox's address");
        let url = line.trim().to_owned();
        if !url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            fail(&format!("the sandbox did not print its address: {line:?}"));
        }
        SandboxProcess { child, url }
    }

    fn calls(&self, rt: &tokio::runtime::Runtime) -> Vec<Value> {
        let url = format!("{}/sandbox/calls", self.url);
        let body: Value = rt
            .block_on(async { reqwest::get(url).await?.json().await })
            .expect("GET /sandbox/calls");
        body["calls"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of the runner cost.
struct Run {
    status: ExitStatus,
    wall: Duration,
    /// User + system CPU seconds of the runner process.
    cpu: f64,
    peak_rss_kib: u64,
}

/// `(utime + stime, cutime + cstime)` of this process, in clock ticks.
fn own_cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // After the command name: state(0) … utime(11) stime(12) cutime(13) cstime(14).
    (fields[11] + fields[12], fields[13] + fields[14])
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Runs `bys-campaign run` to its end, measuring its CPU time and peak RSS.
fn run_runner(bin: &Path, dir: &Path, url: &str, max_calls: Option<u64>) -> Run {
    let ticks = clock_ticks_per_second();
    let mut command = Command::new(bin);
    command
        .arg("run")
        .arg(dir.join("campaign.yaml"))
        .arg("--state")
        .arg(dir.join("bench.state.db"))
        .args(["--api-url", url, "--yes"])
        .env("BYS_API_KEY", KEY)
        // The account's shared record goes in the benchmark's folder, never the user's.
        .env("XDG_STATE_HOME", dir.join("state-home"))
        // Webhook runs name it in their campaign (`bys-campaign sandbox` signs with this).
        .env(WEBHOOK_SECRET_ENV, "whsec_sandbox")
        .env_remove("BYS_API_URL")
        .env_remove("BYS_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("run.stdout")).expect("run log"))
        .stderr(std::fs::File::create(dir.join("run.stderr")).expect("run log"));
    if let Some(n) = max_calls {
        command.arg("--max-calls").arg(n.to_string());
    }
    let (_, children_before) = own_cpu_ticks();
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", bin.display())));
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for the runner") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    // The runner is reaped: its user + system time is now in this process's children's time.
    let (_, children_after) = own_cpu_ticks();
    Run {
        status,
        wall,
        cpu: (children_after - children_before) as f64 / ticks,
        peak_rss_kib: peak,
    }
}

/// One finished attempt, as the state file has it.
struct Attempt {
    call_id: String,
    polls: u32,
    ended_ms: Option<i64>,
    finished_ms: i64,
}

fn attempts(state: &Path) -> Vec<Attempt> {
    let conn =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the state file");
    let mut stmt = conn
        .prepare(
            "SELECT call_id, polls, ended_at, finished_at FROM attempts
             WHERE state = 'finished' AND call_id IS NOT NULL AND finished_at IS NOT NULL",
        )
        .expect("query the state file");
    stmt.query_map([], |r| {
        Ok(Attempt {
            call_id: r.get(0)?,
            polls: r.get::<_, i64>(1)? as u32,
            ended_ms: r.get(2)?,
            finished_ms: r.get(3)?,
        })
    })
    .and_then(Iterator::collect)
    .expect("read the attempts")
}

fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

fn secs(a: Timestamp, b: Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Most placements in any window `[t, t + width)`, `times` sorted.
fn max_in_window(times: &[Timestamp], width: f64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while secs(times[start], times[end]) >= width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Prepares a campaign of `rows` rows and runs it against a fresh sandbox.
fn bench(
    bin: &Path,
    o: &Options,
    numbers: &[String],
    rows: u64,
    max_calls: Option<u64>,
    mode: &Mode,
    rt: &tokio::runtime::Runtime,
) -> (tempfile::TempDir, Run, Vec<Value>) {
    let dir = tempfile::Builder::new()
        .prefix("runner-bench-")
        .tempdir()
        .expect("temp dir");
    write_campaign(dir.path(), rows, o, numbers, &mode.yaml);
    let sandbox = SandboxProcess::start(bin, dir.path(), o, mode);
    let run = run_runner(bin, dir.path(), &sandbox.url, max_calls);
    let calls = sandbox.calls(rt);
    drop(sandbox);
    if !run.status.success() {
        let log = std::fs::read_to_string(dir.path().join("run.stderr")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        eprintln!("runner failed ({}); last lines of its stderr:", run.status);
        for line in tail.iter().rev() {
            eprintln!("  {line}");
        }
    }
    (dir, run, calls)
}

fn keep(o: &Options, dir: tempfile::TempDir) {
    if o.keep {
        println!("  kept: {}", dir.keep().display());
    }
}

fn rate_run(bin: &Path, o: &Options, numbers: &[String], rt: &tokio::runtime::Runtime) {
    println!(
        "\n== rate run: {} rows, calls_per_minute {}, burst {}, every row called ==",
        o.rows, o.calls_per_minute, o.burst
    );
    let (dir, run, calls) = bench(bin, o, numbers, o.rows, None, &Mode::polling(o), rt);
    let state = attempts(&dir.path().join("bench.state.db"));
    if o.drop_after_create > 0.0 {
        let (lost, unknown) = lost_answers(&dir.path().join("bench.state.db"));
        println!(
            "lost answers: {lost} POST answers lost ({} % drawn); {unknown} row(s) ended unknown",
            o.drop_after_create * 100.0
        );
    }
    let by_id: HashMap<&str, &Value> = calls
        .iter()
        .filter_map(|c| Some((c["id"].as_str()?, c)))
        .collect();

    // Placement rate, from the sandbox's creation times.
    let mut created: Vec<Timestamp> = calls.iter().filter_map(|c| ts(&c["createdAt"])).collect();
    created.sort();
    let cpm = f64::from(o.calls_per_minute);
    let burst = o.burst as usize;
    println!(
        "runner: {}, {:.1} s wall, {} calls placed, {} results recorded",
        run.status,
        run.wall.as_secs_f64(),
        created.len(),
        state.len()
    );
    if created.len() > burst + 1 {
        let n = created.len();
        let span = secs(created[0], created[n - 1]);
        let overall = (n - 1) as f64 / span * 60.0;
        // After the initial burst the limiter allows exactly calls_per_minute.
        let steady_span = secs(created[burst - 1], created[n - 1]);
        let steady = (n - burst) as f64 / steady_span * 60.0;
        println!(
            "placement rate: {overall:.1}/min first to last placement ({n} in {span:.1} s) = {:.1} % of {cpm}",
            overall / cpm * 100.0
        );
        println!(
            "  after the initial burst of {burst}: {steady:.1}/min = {:.1} % of calls_per_minute   target >= 98 %: {}",
            steady / cpm * 100.0,
            verdict(steady / cpm >= 0.98)
        );
        let window = max_in_window(&created, 60.0);
        let limit = o.calls_per_minute as usize + burst;
        println!(
            "  most placements in any 60 s window: {window}   target <= {limit} (calls_per_minute + burst): {}",
            verdict(window <= limit)
        );
    } else {
        println!("placement rate: too few calls to measure");
    }

    // Polls and result delay, per finished call.
    let mut polls = 0u64;
    let mut sdk = 0u64;
    let mut delays = Vec::with_capacity(state.len());
    let mut by_outcome: HashMap<String, (u64, f64, u64, u64, f64)> = HashMap::new();
    for a in &state {
        let Some(call) = by_id.get(a.call_id.as_str()) else {
            continue;
        };
        let (Some(created), Some(ended)) = (ts(&call["createdAt"]), ts(&call["endedAt"])) else {
            continue;
        };
        let duration = secs(created, ended);
        let sdk_polls = ((duration / SDK_INTERVAL_SECS).ceil() as u64).max(1);
        let ended_ms = a.ended_ms.unwrap_or(ended.as_millisecond());
        let delay = (a.finished_ms - ended_ms) as f64 / 1000.0;
        polls += u64::from(a.polls);
        sdk += sdk_polls;
        delays.push(delay);
        let outcome = call["status"].as_str().unwrap_or("?").to_owned();
        let e = by_outcome.entry(outcome).or_default();
        e.0 += 1;
        e.1 += duration;
        e.2 += u64::from(a.polls);
        e.3 += sdk_polls;
        e.4 += delay;
    }
    let followed = delays.len().max(1) as f64;
    let ratio = polls as f64 / sdk.max(1) as f64;
    println!(
        "polls per call: {:.2} (runner) vs {:.2} (SDK 3 s loop on the same calls) = {:.1} %   target <= 25 %: {}",
        polls as f64 / followed,
        sdk as f64 / followed,
        ratio * 100.0,
        verdict(ratio <= 0.25)
    );
    delays.sort_by(f64::total_cmp);
    let mean = delays.iter().sum::<f64>() / followed;
    println!(
        "delay from a call's end to its result recorded: mean {mean:.1} s, p50 {:.1} s, p95 {:.1} s, max {:.1} s (simulated)   target mean <= 10 s: {}",
        percentile(&delays, 0.5),
        percentile(&delays, 0.95),
        percentile(&delays, 1.0),
        verdict(mean <= 10.0)
    );
    let mut outcomes: Vec<_> = by_outcome.into_iter().collect();
    outcomes.sort_by_key(|(_, e)| std::cmp::Reverse(e.0));
    println!("  by outcome: calls, mean duration, runner polls/call, SDK polls/call, mean delay");
    for (outcome, (n, duration, p, s, d)) in outcomes {
        let n_f = n as f64;
        println!(
            "    {outcome:<10} {n:>6}  {:>6.1} s  {:>5.2}  {:>5.2}  {:>5.1} s",
            duration / n_f,
            p as f64 / n_f,
            s as f64 / n_f,
            d / n_f
        );
    }
    let per_thousand = run.cpu / followed * 1000.0;
    println!(
        "CPU: {:.2} s user+sys for {} calls = {per_thousand:.2} s per 1,000 calls   target <= 1: {}",
        run.cpu,
        state.len(),
        verdict(per_thousand <= 1.0)
    );
    let busy = run.cpu / run.wall.as_secs_f64();
    println!(
        "  the runner was busy {:.0} % of the wall time (time scale {}: 1 real s = {} simulated s)",
        busy * 100.0,
        o.time_scale,
        1.0 / o.time_scale
    );
    if busy > 0.5 {
        println!(
            "  warning: the runner was busy much of the time; the timing figures may reflect the machine: try a slower --time-scale"
        );
    }
    println!(
        "peak RSS: {:.1} MiB with {} rows",
        mib(run.peak_rss_kib),
        o.rows
    );
    keep(o, dir);
}

fn memory_runs(bin: &Path, o: &Options, numbers: &[String], rt: &tokio::runtime::Runtime) {
    if o.memory_rows.is_empty() {
        return;
    }
    println!(
        "\n== memory runs: rows imported, first {} called (--max-calls), all followed and exported ==",
        o.memory_calls
    );
    let mut peaks = Vec::new();
    for &rows in &o.memory_rows {
        let (dir, run, calls) = bench(
            bin,
            o,
            numbers,
            rows,
            Some(o.memory_calls),
            &Mode::polling(o),
            rt,
        );
        let results = std::fs::read_to_string(dir.path().join("results.csv"))
            .map(|s| s.lines().count().saturating_sub(1))
            .unwrap_or(0);
        println!(
            "{rows:>7} rows: peak RSS {:>6.1} MiB   target <= 64 MiB: {}   ({} calls, {results} result rows, {}, {:.1} s wall, {:.2} s CPU)",
            mib(run.peak_rss_kib),
            verdict(mib(run.peak_rss_kib) <= 64.0),
            calls.len(),
            run.status,
            run.wall.as_secs_f64(),
            run.cpu
        );
        peaks.push((rows, run.peak_rss_kib));
        keep(o, dir);
    }
    if let (Some(&(small_rows, small)), Some(&(big_rows, big))) = (peaks.first(), peaks.last())
        && big_rows > small_rows
    {
        let growth = mib(big) - mib(small);
        println!(
            "growth from {small_rows} to {big_rows} rows: {growth:+.1} MiB ({:+.1} KiB per 1,000 extra rows)   target: not growing with rows: {}",
            (big as f64 - small as f64) / ((big_rows - small_rows) as f64 / 1000.0),
            // Allocator noise is a few MiB; growth with rows would be tens.
            verdict(growth <= 4.0)
        );
    }
}

fn main() {
    let o = options();
    let bin = binary(o.bin.as_deref());
    let numbers = numbers();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "runner_bench: {} against its sandbox, time scale {} (1 real s = {} simulated s), seed {}, {} distinct fictional numbers",
        bin.display(),
        o.time_scale,
        1.0 / o.time_scale,
        o.seed,
        numbers.len()
    );
    if o.rows > 0 {
        rate_run(&bin, &o, &numbers, &rt);
    }
    memory_runs(&bin, &o, &numbers, &rt);
    if o.webhook_rows > 0 {
        webhook_run(&bin, &o, &numbers, &rt);
    }
}

/// How many POSTs' answers were lost, and how many contacts ended `unknown`.
fn lost_answers(state: &Path) -> (u64, u64) {
    let conn =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the state file");
    let count = |sql: &str| -> u64 {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .expect("count") as u64
    };
    (
        count(
            "SELECT COUNT(DISTINCT attempt_id) FROM events
             WHERE kind = 'error' AND detail LIKE 'the answer to the POST was lost%'",
        ),
        count("SELECT COUNT(*) FROM contacts WHERE state = 'unknown'"),
    )
}

/// Per finished attempt: polls, end and commit instants, and whether a webhook carried it.
fn pushed_attempts(state: &Path) -> Vec<(u32, Option<i64>, i64, bool)> {
    let conn =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the state file");
    let mut stmt = conn
        .prepare(
            "SELECT a.polls, a.ended_at, a.finished_at,
                    EXISTS (SELECT 1 FROM webhook_events w WHERE w.attempt_id = a.id AND w.effect = 'result')
             FROM attempts a
             WHERE a.state = 'finished' AND a.call_id IS NOT NULL AND a.finished_at IS NOT NULL",
        )
        .expect("query the state file");
    stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)? as u32, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .and_then(Iterator::collect)
    .expect("read the attempts")
}

fn webhook_run(bin: &Path, o: &Options, numbers: &[String], rt: &tokio::runtime::Runtime) {
    println!(
        "\n== webhook run: {} rows, calls_per_minute {}, time scale {} (1 real s = {} simulated s), {} % of delivery attempts lost ==",
        o.webhook_rows,
        o.calls_per_minute,
        o.webhook_time_scale,
        1.0 / o.webhook_time_scale,
        o.webhook_fail_rate * 100.0
    );
    let mode = Mode {
        yaml: format!("webhook:\n  listen: 127.0.0.1:0\n  secret_env: {WEBHOOK_SECRET_ENV}\n"),
        time_scale: o.webhook_time_scale,
        sandbox_args: vec![
            "--webhook-fail-rate".into(),
            o.webhook_fail_rate.to_string(),
        ],
    };
    let (dir, run, calls) = bench(bin, o, numbers, o.webhook_rows, None, &mode, rt);
    let state = pushed_attempts(&dir.path().join("bench.state.db"));
    println!(
        "runner: {}, {:.1} s wall, {} calls placed, {} results recorded, {:.2} s CPU",
        run.status,
        run.wall.as_secs_f64(),
        calls.len(),
        state.len(),
        run.cpu
    );
    let (pushed, polled): (Vec<_>, Vec<_>) = state.iter().partition(|a| a.3);
    let polls = |set: &[&(u32, Option<i64>, i64, bool)]| -> u64 {
        set.iter().map(|a| u64::from(a.0)).sum()
    };
    let all: Vec<_> = state.iter().collect();
    let per = |n: u64, of: usize| n as f64 / of.max(1) as f64;
    println!(
        "results by webhook: {} of {}; by the polling safety net: {}",
        pushed.len(),
        state.len(),
        polled.len()
    );
    if pushed.is_empty() {
        println!(
            "polls per call: {:.3}; no result came by webhook",
            per(polls(&all), all.len())
        );
        keep(o, dir);
        return;
    }
    let pushed_polls = polls(&pushed);
    println!(
        "polls per call: {:.3} overall; {:.3} for calls whose webhook arrived   target 0: {}",
        per(polls(&all), all.len()),
        per(pushed_polls, pushed.len()),
        verdict(pushed_polls == 0)
    );
    let mut delays: Vec<f64> = pushed
        .iter()
        .filter_map(|a| Some((a.2 - a.1?) as f64 / 1000.0))
        .collect();
    delays.sort_by(f64::total_cmp);
    let mean = delays.iter().sum::<f64>() / delays.len().max(1) as f64;
    // Lost attempts wait for the sender's retries (5 to 75 s): that is the sender's delay, not
    // the runner's, so the target is judged only on runs without lost attempts.
    let target = if o.webhook_fail_rate > 0.0 {
        "target < 1 s: not judged (includes the sandbox's retry backoff)".to_owned()
    } else {
        format!("target < 1 s: {}", verdict(percentile(&delays, 1.0) < 1.0))
    };
    println!(
        "delay from a call's end to its result committed, by webhook: mean {mean:.3} s, p50 {:.3} s, p95 {:.3} s, max {:.3} s (simulated)   {target}",
        percentile(&delays, 0.5),
        percentile(&delays, 0.95),
        percentile(&delays, 1.0),
    );
    keep(o, dir);
}
