//! Bulk benchmark: `validate`, `plan`, the import of `run`, `export` and `status` on a generated
//! campaign of a million rows (issue 14), then `report` and `status` on the same campaign once
//! every contact was called (issue 21); each step's seconds and peak RSS beside its target.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example bulk_bench -- [--rows 1000000] [--repeat 3]
//!     [--bin target/release/bys-campaign] [--keep]
//! ```
//!
//! The campaign: columns `id, first_name, phone, date`, keyed by `id`, objective
//! `Confirm {{ first_name }} on {{ date }}.`, no schedule. Numbers are fictional, 555-0100..0189
//! in every area code libphonenumber accepts as a US or Canadian number, written in turn as
//! `+1NPA55501xx`, `(NPA) 555-01xx` and `NPA-555-01xx`. A million rows need more numbers than
//! that range holds, so numbers repeat (about every 60,000 rows): the key column makes each row a
//! call of its own. One row in 1,000 has a number without its area code (invalid) and one in
//! 5,000 repeats an earlier id (a duplicate key), so the report has every kind of group.
//!
//! Each step runs the release binary as a child process, `--repeat` times; the figures are the
//! medians. Peak RSS is VmHWM from `/proc/<pid>/status`, polled every 2 ms while it runs.
//! - `import`: `run --sandbox --max-calls 0` on a fresh state file: it imports every row and
//!   places nothing. Its time and peak are read when `run` prints its `contacts:` line, which
//!   comes right after the import commits; `run` then writes the results CSV, which is what
//!   `export` measures. `re-import` is the same on the state file left behind: every row is
//!   known, as at each later run of the campaign.
//! - `export` and `status` read the state file the import left (`--rehearsal`).
//! - Then the state file is made that of a finished campaign with SQL ([`finish`]: a first call
//!   for every callable contact, a second for those it did not reach, records the size the
//!   sandbox writes, fields obtained in most completed calls, ten weekdays of placements), and
//!   `report --rehearsal` and `status` (marked `*`) are measured on it, with the size of the
//!   report file.
//!
//! It prints what it measured and asserts nothing; figures depend on the machine.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bys_campaign::phone;
use common::{binary, fail, vm_hwm_kib};

mod common;

const FIRST_NAMES: [&str; 8] = ["Ana", "Wei", "Lin", "Sam", "Eve", "Zoe", "Yan", "Raj"];

struct Options {
    rows: u64,
    repeat: usize,
    bin: Option<PathBuf>,
    keep: bool,
}

fn options() -> Options {
    let mut o = Options {
        rows: 1_000_000,
        repeat: 3,
        bin: None,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--keep" => o.keep = true,
            "--rows" => o.rows = value().parse().unwrap_or_else(|_| fail("--rows N")),
            "--repeat" => {
                o.repeat = value()
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| fail("--repeat N, N > 0"));
            }
            "--bin" => o.bin = Some(PathBuf::from(value())),
            other => fail(&format!("unknown option {other}")),
        }
    }
    o
}

/// The area codes whose 555-0100 libphonenumber accepts as a North American number.
fn area_codes() -> Vec<u16> {
    (201..=989)
        .filter(|area| {
            let probe = format!("({area}) 555-0100");
            phone::normalize(&probe, Some(phone::Region::US)).is_ok()
        })
        .collect()
}

fn write_campaign(dir: &Path, rows: u64) {
    std::fs::write(
        dir.join("campaign.yaml"),
        "name: bulk
input:
  path: contacts.csv
  phone_column: phone
  key_column: id
  default_region: US
call:
  objective: \"Confirm {{ first_name }} on {{ date }}.\"
fields:
  - { name: confirmed, type: boolean }
  - { name: new_time, type: string }
  - { name: visits, type: number }
limits:
  max_calls: 2000000
",
    )
    .expect("write the campaign");
    let areas = area_codes();
    let file = std::fs::File::create(dir.join("contacts.csv")).expect("create the CSV");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut line = String::new();
    out.write_all(b"id,first_name,phone,date\n").unwrap();
    for i in 0..rows {
        line.clear();
        let id = if i % 5_000 == 4_999 { i - 1_000 } else { i };
        let area = areas[(i / 90) as usize % areas.len()];
        let last = 100 + i % 90;
        let _ = match (i % 1_000 == 999, i % 3) {
            (true, _) => write!(line, "555-0{last}"),
            (false, 0) => write!(line, "+1{area}5550{last}"),
            (false, 1) => write!(line, "({area}) 555-0{last}"),
            (false, _) => write!(line, "{area}-555-0{last}"),
        };
        let name = FIRST_NAMES[i as usize % FIRST_NAMES.len()];
        let day = 1 + i % 28;
        writeln!(out, "{id},{name},\"{line}\",2026-12-{day:02}").unwrap();
    }
    out.flush().unwrap();
}

/// One measured step.
#[derive(Clone, Copy)]
struct Figure {
    secs: f64,
    peak_kib: u64,
}

/// Runs `bin args` in `dir` to its end, which must be exit status `exit`. With `mark`, the
/// figure is taken when a line of its stderr starts with `mark` (the rest of the run is not
/// measured); otherwise at its exit.
fn measure(bin: &Path, dir: &Path, args: &[&str], mark: Option<&str>, exit: i32) -> Figure {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("BYS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", bin.display())));
    let pid = child.id();
    let stderr = child.stderr.take().expect("piped stderr");
    let (marked_tx, marked_rx) = std::sync::mpsc::channel();
    let wanted = mark.map(str::to_owned);
    let reader = std::thread::spawn(move || {
        let mut log = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if wanted.as_deref().is_some_and(|m| line.starts_with(m)) {
                let _ = marked_tx.send((started.elapsed(), vm_hwm_kib(pid)));
            }
            log.push(line);
        }
        log
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    let log = reader.join().expect("stderr reader");
    if status.code() != Some(exit) {
        eprintln!("`bys-campaign {}` failed ({status}):", args.join(" "));
        for line in log.iter().rev().take(10).rev() {
            eprintln!("  {line}");
        }
        fail("a step failed");
    }
    match marked_rx.try_recv() {
        Ok((at, kib)) => Figure {
            secs: at.as_secs_f64(),
            peak_kib: kib.unwrap_or(peak),
        },
        Err(_) if mark.is_some() => fail(&format!("no line {mark:?} on stderr")),
        Err(_) => Figure {
            secs: wall.as_secs_f64(),
            peak_kib: peak,
        },
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A step, what it runs, and its targets (seconds, MiB).
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    mark: Option<&'static str>,
    /// Remove the state file first.
    fresh: bool,
    /// The exit status it ends with.
    exit: i32,
    target: (f64, f64),
}

const IMPORT: &[&str] = &["run", "campaign.yaml", "--sandbox", "--max-calls", "0"];
/// `run --max-calls 0` leaves every row to call: work cut short, EX_TEMPFAIL.
const IMPORT_EXIT: i32 = 75;
const STEPS: [Step; 6] = [
    Step {
        name: "validate",
        args: &["validate", "campaign.yaml"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (10.0, 64.0),
    },
    Step {
        name: "plan",
        args: &["plan", "campaign.yaml"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (10.0, 64.0),
    },
    Step {
        name: "import",
        args: IMPORT,
        mark: Some("contacts:"),
        fresh: true,
        exit: IMPORT_EXIT,
        target: (30.0, 64.0),
    },
    Step {
        name: "re-import",
        args: IMPORT,
        mark: Some("contacts:"),
        fresh: false,
        exit: IMPORT_EXIT,
        target: (30.0, 64.0),
    },
    Step {
        name: "export",
        args: &["export", "campaign.yaml", "--rehearsal"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (10.0, 64.0),
    },
    Step {
        name: "status",
        args: &["status", "campaign.yaml", "--rehearsal"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (1.0, 64.0),
    },
];

/// Steps measured on the finished campaign (see [`finish`]).
const FINISHED: [Step; 2] = [
    Step {
        name: "report",
        args: &["report", "campaign.yaml", "--rehearsal"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (10.0, 64.0),
    },
    Step {
        name: "status*",
        args: &["status", "campaign.yaml", "--rehearsal"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (1.0, 64.0),
    },
];

/// A contact's first call's outcome, from its `seq`: 62 % completed, 15 % no answer, 10 %
/// voicemail, 6 % declined, 5 % failed, 2 % unknown (a call that may have gone out).
const FIRST: &str = "CASE WHEN (seq * 2654435761) % 100 < 62 THEN 'completed'
    WHEN (seq * 2654435761) % 100 < 77 THEN 'no_answer'
    WHEN (seq * 2654435761) % 100 < 87 THEN 'voicemail'
    WHEN (seq * 2654435761) % 100 < 93 THEN 'declined'
    WHEN (seq * 2654435761) % 100 < 98 THEN 'failed' ELSE 'unknown' END";
/// The second call, for a first one that ended no answer, voicemail or failed.
const SECOND: &str = "CASE WHEN (seq * 40503) % 100 < 55 THEN 'completed'
    WHEN (seq * 40503) % 100 < 80 THEN 'no_answer' ELSE 'voicemail' END";

/// The record of a finished call, about the size the sandbox writes (1.1 to 1.6 KB), as SQL
/// over the columns of [`attempts_sql`]'s inner query.
const RECORD: &str = "json_object(
    'id', cid, 'callId', cid, 'status', o, 'to', phone,
    'objective', 'Confirm ' || first_name || ' on 2026-12-0' || (seq % 9 + 1) || '.',
    'context', 'You are calling on behalf of a fictional clinic. Be brief and friendly.',
    'summary', CASE WHEN o IN ('completed', 'voicemail') THEN
        'Reached the contact and covered the objective: Confirm ' || first_name
        || ' appointment. Obtained the requested details; the contact asked for '
        || 'nothing else and the call ended politely after a short exchange.' END,
    'transcript', CASE WHEN o = 'completed' THEN
        'Agent: Hello, this is an AI assistant calling on behalf of the clinic. '
        || 'I am calling to confirm your appointment.' || char(10)
        || 'Contact: Hi, yes, I have a minute. Go ahead.' || char(10)
        || 'Agent: Could you tell me: did you confirm the appointment?' || char(10)
        || 'Contact: Yes, that works for me, thank you for checking.' || char(10)
        || 'Agent: Could you tell me: new time if you asked to reschedule?' || char(10)
        || 'Contact: No need, the time we have is fine.' || char(10)
        || 'Agent: Thank you, that is everything I needed. Have a good day.' || char(10)
        || 'Contact: You too, bye.' END,
    'extracted', json_object(
        'confirmed', CASE WHEN o <> 'completed' THEN NULL
            WHEN (seq * 97) % 10 < 7 THEN json('true')
            WHEN (seq * 97) % 10 < 9 THEN json('false') END,
        'new_time', CASE WHEN o = 'completed' THEN CASE (seq * 13) % 7
            WHEN 0 THEN '10:30' WHEN 1 THEN 'after 3 pm' WHEN 2 THEN 'noon'
            WHEN 3 THEN '9:00 tomorrow' END END,
        'visits', CASE WHEN o = 'completed' AND seq % 11 <> 0 THEN seq % 12 END),
    'recordingUrl', 'http://127.0.0.1:9/v1/agent/calls/' || cid || '/recording',
    'startedAt', strftime('%Y-%m-%dT%H:%M:%fZ', at / 1000.0 + 9, 'unixepoch'),
    'endedAt', strftime('%Y-%m-%dT%H:%M:%fZ', at / 1000.0 + 9 + secs, 'unixepoch'),
    'durationSec', secs)";

/// The request of a call, as the runner stores it.
const REQUEST: &str = "json_object('to', phone,
    'objective', 'Confirm ' || json_extract(cells, '$[1]') || ' on 2026-12-0' || (seq % 9 + 1) || '.',
    'context', 'You are calling on behalf of a fictional clinic. Be brief and friendly.',
    'fields', json('[{\"name\":\"confirmed\",\"type\":\"boolean\"},'
        || '{\"name\":\"new_time\",\"type\":\"string\"},{\"name\":\"visits\",\"type\":\"number\"}]'))";

/// Attempt `nth` of every contact `from` selects, with the outcome `outcome`, placed `delay_ms`
/// after the contact's first call.
fn attempts_sql(nth: u32, outcome: &str, from: &str, delay_ms: i64) -> String {
    format!(
        "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at, call_id,
             placed_at, status, polls, outcome, record, ended_at, finished_at, updated_at)
         SELECT key, CASE o WHEN 'unknown' THEN 'unknown' ELSE 'finished' END,
                'bench-{nth}-' || seq, request, at, CASE WHEN o <> 'unknown' THEN cid END, at,
                CASE WHEN o <> 'unknown' THEN o END, 3, CASE WHEN o <> 'unknown' THEN o END,
                CASE WHEN o <> 'unknown' THEN {RECORD} END,
                at + 1000 * (COALESCE(secs, 0) + 9), at + 1000 * (COALESCE(secs, 0) + 15),
                at + 1000 * (COALESCE(secs, 0) + 15)
         FROM (SELECT key, seq, phone, json_extract(cells, '$[1]') AS first_name, o,
                      printf('%08x-0000-4000-8000-%012x', seq, {nth}) AS cid,
                      {REQUEST} AS request,
                      CASE o WHEN 'completed' THEN 30 + (seq * 31) % 270
                             WHEN 'voicemail' THEN 10 + seq % 30 END AS secs,
                      -- Ten weekdays from Monday 2026-12-07, 14:00 to 23:00 UTC.
                      1796652000000 + ((seq / 9) % 10 + (seq / 9) % 10 / 5 * 2) * 86400000
                          + ((seq * 7919) % 540) * 60000 + {delay_ms} AS at
               FROM (SELECT *, {outcome} AS o FROM contacts {from}))"
    )
}

/// Turns the state file of the import into that of a finished campaign, as if every contact
/// had been called: a first call each, a second for those not reached by the first; fields
/// obtained in most completed calls. Written with SQL, not by running the sandbox (a million
/// calls would take hours).
fn finish(state: &Path) -> Duration {
    let started = Instant::now();
    let conn = rusqlite::Connection::open(state).expect("open the state file");
    let callable = "WHERE state = 'pending' AND phone IS NOT NULL";
    let retried = format!("{callable} AND ({FIRST}) IN ('no_answer', 'voicemail', 'failed')");
    let sql = format!(
        "BEGIN;
         {};
         {};
         UPDATE contacts SET
             calls = 1 + (({FIRST}) IN ('no_answer', 'voicemail', 'failed')),
             outcome = CASE WHEN ({FIRST}) IN ('no_answer', 'voicemail', 'failed') THEN {SECOND}
                            WHEN ({FIRST}) = 'unknown' THEN NULL ELSE {FIRST} END,
             state = CASE WHEN ({FIRST}) = 'unknown' THEN 'unknown' ELSE 'done' END
         {callable};
         COMMIT;",
        attempts_sql(1, FIRST, callable, 0),
        attempts_sql(2, SECOND, &retried, 2 * 3_600_000),
    );
    conn.execute_batch(&sql)
        .unwrap_or_else(|e| fail(&format!("finishing the campaign: {e}")));
    started.elapsed()
}

fn main() {
    let o = options();
    let bin = binary(o.bin.as_deref());
    let dir = tempfile::Builder::new()
        .prefix("bulk-bench-")
        .tempdir()
        .expect("temp dir");
    let started = Instant::now();
    write_campaign(dir.path(), o.rows);
    let size = std::fs::metadata(dir.path().join("contacts.csv"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "bulk_bench: {} on {} rows ({:.1} MiB, written in {:.1} s), median of {} runs each",
        bin.display(),
        o.rows,
        size as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64(),
        o.repeat,
    );
    let state = dir.path().join("bulk.rehearsal.state.db");
    measure_steps(&bin, dir.path(), &STEPS, o.repeat, &state);
    let took = finish(&state);
    let size = std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0);
    println!(
        "finished: every contact called, as if by a run ({:.1} s; the state file is now {:.0} MiB); * on it:",
        took.as_secs_f64(),
        size as f64 / (1 << 20) as f64
    );
    measure_steps(&bin, dir.path(), &FINISHED, o.repeat, &state);
    let report = dir.path().join("results/bulk.rehearsal.report.html");
    match std::fs::metadata(&report) {
        Ok(m) => println!(
            "report file: {:.2} MB (target < 5 MB)",
            m.len() as f64 / 1_000_000.0
        ),
        Err(e) => fail(&format!("no report at {}: {e}", report.display())),
    }
    if o.keep {
        println!("kept: {}", dir.keep().display());
    }
}

/// Runs each step `repeat` times and prints its median figures beside its target.
fn measure_steps(bin: &Path, dir: &Path, steps: &[Step], repeat: usize, state: &Path) {
    for step in steps {
        let mut runs = Vec::with_capacity(repeat);
        for _ in 0..repeat {
            if step.fresh {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", state.display()));
                }
            }
            runs.push(measure(bin, dir, step.args, step.mark, step.exit));
        }
        let secs = median(runs.iter().map(|r| r.secs).collect());
        let mib = median(runs.iter().map(|r| r.peak_kib as f64 / 1024.0).collect());
        let all: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.secs)).collect();
        let (max_secs, max_mib) = step.target;
        println!(
            "{:<9} {secs:>7.2} s  {mib:>6.1} MiB   target <= {max_secs} s, <= {max_mib} MiB: {}   (runs: {} s)",
            step.name,
            if secs <= max_secs && mib <= max_mib {
                "met"
            } else {
                "MISSED"
            },
            all.join(", "),
        );
    }
}
