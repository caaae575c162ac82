//! Bulk benchmark: `validate`, `plan`, the import of `run`, `export` and `status` on a generated
//! campaign of a million rows (issue 14), each step's seconds and peak RSS beside its target.
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
            phone::normalize(&probe, Some(phonenumber::country::Id::US)).is_ok()
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
    for step in &STEPS {
        let mut runs = Vec::with_capacity(o.repeat);
        for _ in 0..o.repeat {
            if step.fresh {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", state.display()));
                }
            }
            runs.push(measure(&bin, dir.path(), step.args, step.mark, step.exit));
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
    if o.keep {
        println!("kept: {}", dir.keep().display());
    }
}
