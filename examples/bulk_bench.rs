//! Bulk benchmark: `validate`, `plan`, the import of `run`, `export` and `status` on generated
//! campaigns of a million rows (issues 14 and 22), then `report` and `status` on the same campaign
//! once every contact was called (issue 21); each step's seconds and peak RSS beside its target,
//! and, with `--baseline`, beside another build's on the same files in the same run.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example bulk_bench -- [--rows 1000000] [--repeat 3]
//!     [--mix nanp,invalid,intl,national | --mix all] [--baseline OLD-BINARY]
//!     [--bin target/release/bys-campaign] [--keep]
//! ```
//!
//! The campaign: columns `id, first_name, phone, date, note`, keyed by `id`, objective
//! `Confirm {{ first_name }} on {{ date }}.`, no schedule. One row in 5,000 repeats an earlier id
//! (a duplicate key); one in 1,000 has a note of 2 to 4 KB holding commas, quotes and a line
//! break. Numbers are fictional, and the mix (`--mix`, default `nanp`) says which:
//! - `nanp`: 555-0100..0189 in every area code libphonenumber accepts as a US or Canadian number,
//!   written in turn as `+1NPA55501xx`, `(NPA) 555-01xx` and `NPA-555-01xx`; one row in 1,000
//!   without its area code (invalid).
//! - `invalid`: the same, but every other row invalid: an area code no one uses, a digit short or
//!   a digit too many.
//! - `intl`: UK (Ofcom's drama ranges: London 020 7946 0xxx, Leeds 0113 496 0xxx), Australian
//!   (ACMA's fictional mobiles and 02 5550 xxxx), New Zealand (9 555 01xx, 21 555 01xx) and
//!   Israeli (2 555 01xx, 50 555 01xx) numbers with their `+`, in several spellings.
//! - `national`: UK numbers as people write them at home, `default_region: GB`: `020 7946 0123`,
//!   `(0113) 496 0123`, `+44 (0)20 7946 0123`; one in ten a mobile of the drama range 07700 900xxx,
//!   which libphonenumber does not accept.
//!
//! The numbers of a mix repeat (about every 60,000 rows): the key column makes each row a call of
//! its own.
//!
//! Each step runs the release binary as a child process, `--repeat` times; the figures are the
//! medians. With `--baseline`, each repetition runs the baseline right after the binary, each in
//! a folder of its own holding the same files, and the ratio of the medians is printed.
//! Peak RSS is VmHWM from `/proc/<pid>/status`, polled every 2 ms while it runs.
//! - `validate` and `plan`, on every mix.
//! - `import`: `run --sandbox --max-calls 0` on a fresh state file: it imports every row and
//!   places nothing. Its time and peak are read when `run` prints its `contacts:` line, which
//!   comes right after the import commits; `run` then writes the results CSV, which is what
//!   `export` measures. `re-import` is the same on the state file left behind: every row is
//!   known, as at each later run of the campaign. On every mix.
//! - On the first mix only: `export` and `status` read the state file the import left
//!   (`--rehearsal`). Then the state file is made that of a finished campaign with SQL
//!   ([`finish`]: a first call for every callable contact, a second for those it did not reach,
//!   records the size the sandbox writes, fields obtained in most completed calls, ten weekdays
//!   of placements), and `report --rehearsal` and `status` (marked `*`) are measured on it, with
//!   the size of the report file.
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

/// Which numbers the contacts CSV holds (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    Nanp,
    Invalid,
    Intl,
    National,
}

impl Mix {
    const ALL: [Mix; 4] = [Mix::Nanp, Mix::Invalid, Mix::Intl, Mix::National];

    fn name(self) -> &'static str {
        match self {
            Mix::Nanp => "nanp",
            Mix::Invalid => "invalid",
            Mix::Intl => "intl",
            Mix::National => "national",
        }
    }

    fn default_region(self) -> &'static str {
        match self {
            Mix::National => "GB",
            _ => "US",
        }
    }
}

struct Options {
    rows: u64,
    repeat: usize,
    mixes: Vec<Mix>,
    bin: Option<PathBuf>,
    baseline: Option<PathBuf>,
    keep: bool,
}

fn options() -> Options {
    let mut o = Options {
        rows: 1_000_000,
        repeat: 3,
        mixes: vec![Mix::Nanp],
        bin: None,
        baseline: None,
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
            "--mix" => o.mixes = mixes(&value()),
            "--bin" => o.bin = Some(PathBuf::from(value())),
            "--baseline" => o.baseline = Some(PathBuf::from(value())),
            other => fail(&format!("unknown option {other}")),
        }
    }
    o
}

fn mixes(list: &str) -> Vec<Mix> {
    if list == "all" {
        return Mix::ALL.to_vec();
    }
    list.split(',')
        .map(|name| {
            Mix::ALL
                .into_iter()
                .find(|m| m.name() == name.trim())
                .unwrap_or_else(|| {
                    fail(&format!(
                        "--mix {name}: use nanp, invalid, intl, national or all"
                    ))
                })
        })
        .collect()
}

/// The area codes 201..989 whose 555-0100 libphonenumber accepts as a North American number
/// (`true`), and the rest.
fn area_codes() -> (Vec<u16>, Vec<u16>) {
    (201..=989).partition(|area| {
        let probe = format!("({area}) 555-0100");
        phone::normalize(&probe, Some(phone::Region::US)).is_ok()
    })
}

/// Australia's fictional mobile numbers (ACMA), without the leading 0.
const AU_MOBILES: [&str; 8] = [
    "491570006",
    "491570156",
    "491570157",
    "491570158",
    "491570159",
    "491570110",
    "491570313",
    "491570737",
];

/// The phone cell of row `i` of `mix`.
fn number(mix: Mix, i: u64, areas: &(Vec<u16>, Vec<u16>), out: &mut String) {
    let (valid, unused) = areas;
    let area = valid[(i / 90) as usize % valid.len()];
    let last = 100 + i % 90;
    let _ = match mix {
        Mix::Nanp | Mix::Invalid if i % 1_000 == 999 => write!(out, "555-0{last}"),
        Mix::Invalid if i % 2 == 1 => match (i / 2) % 3 {
            0 => write!(
                out,
                "+1 {} 555 0{last}",
                unused[(i / 6) as usize % unused.len()]
            ),
            1 => write!(out, "({area}) 555-0{}", last / 10),
            _ => write!(out, "{area}-555-0{last}{}", i % 10),
        },
        Mix::Nanp | Mix::Invalid => match i % 3 {
            0 => write!(out, "+1{area}5550{last}"),
            1 => write!(out, "({area}) 555-0{last}"),
            _ => write!(out, "{area}-555-0{last}"),
        },
        Mix::Intl => match i % 8 {
            0 => write!(out, "+44 20 7946 0{last}"),
            1 => write!(out, "+44 (0)113 496 0{last}"),
            2 => write!(
                out,
                "+61 {}",
                AU_MOBILES[(i / 8) as usize % AU_MOBILES.len()]
            ),
            3 => write!(out, "+61 2 5550 {:04}", i % 10_000),
            4 => write!(out, "+64 9 555 0{last}"),
            5 => write!(out, "+64215550{last}"),
            6 => write!(out, "+972-2-555-0{last}"),
            _ => write!(out, "+972 50 555 0{last}"),
        },
        Mix::National => match i % 10 {
            0 => write!(out, "07700 900{:03}", i % 1_000),
            1 | 4 | 7 => write!(out, "020 7946 0{last}"),
            2 | 5 => write!(out, "(0113) 496 0{last}"),
            3 => write!(out, "+44 (0)20 7946 0{last}"),
            6 => write!(out, "0161 496 0{last}"),
            _ => write!(out, "02079460{last}"),
        },
    };
}

/// A note of 2 to 4 KB with what a CSV writer must quote: commas, quotes, a line break.
fn note(i: u64) -> String {
    let sentence = "Prefers mornings, \"not before 9\"; asked twice about parking. ";
    let mut note = sentence.repeat(32 + (i % 32) as usize);
    note.insert_str(note.len() / 2, "\nSecond line of the note. ");
    format!("\"{}\"", note.replace('"', "\"\""))
}

/// Writes `campaign.yaml` and `contacts.csv` of `mix` into `dir`; the share of rows whose
/// number is valid.
fn write_campaign(dir: &Path, rows: u64, mix: Mix) -> f64 {
    std::fs::write(
        dir.join("campaign.yaml"),
        format!(
            "name: bulk
input:
  path: contacts.csv
  phone_column: phone
  key_column: id
  default_region: {}
call:
  objective: \"Confirm {{{{ first_name }}}} on {{{{ date }}}}.\"
fields:
  - {{ name: confirmed, type: boolean }}
  - {{ name: new_time, type: string }}
  - {{ name: visits, type: number }}
limits:
  max_calls: 2000000
",
            mix.default_region()
        ),
    )
    .expect("write the campaign");
    let areas = area_codes();
    let region = mix.default_region().parse().ok();
    let file = std::fs::File::create(dir.join("contacts.csv")).expect("create the CSV");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut cell = String::new();
    let mut valid = 0u64;
    out.write_all(b"id,first_name,phone,date,note\n").unwrap();
    for i in 0..rows {
        cell.clear();
        let id = if i % 5_000 == 4_999 { i - 1_000 } else { i };
        number(mix, i, &areas, &mut cell);
        // Every 97th row is checked: enough to tell the share, cheap next to writing.
        if i % 97 == 0 && phone::normalize(&cell, region).is_ok() {
            valid += 1;
        }
        let name = FIRST_NAMES[i as usize % FIRST_NAMES.len()];
        let day = 1 + i % 28;
        let note = if i % 1_000 == 500 {
            note(i)
        } else {
            String::new()
        };
        writeln!(out, "{id},{name},\"{cell}\",2026-12-{day:02},{note}").unwrap();
    }
    out.flush().unwrap();
    valid as f64 / rows.div_ceil(97) as f64
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
/// Steps measured on every mix.
const MIX_STEPS: [Step; 4] = [
    Step {
        name: "validate",
        args: &["validate", "campaign.yaml"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (5.0, 64.0),
    },
    Step {
        name: "plan",
        args: &["plan", "campaign.yaml"],
        mark: None,
        fresh: false,
        exit: 0,
        target: (5.0, 64.0),
    },
    Step {
        name: "import",
        args: IMPORT,
        mark: Some("contacts:"),
        fresh: true,
        exit: IMPORT_EXIT,
        target: (10.0, 64.0),
    },
    Step {
        name: "re-import",
        args: IMPORT,
        mark: Some("contacts:"),
        fresh: false,
        exit: IMPORT_EXIT,
        target: (10.0, 64.0),
    },
];

/// Steps measured on the first mix, on the state file its import left.
const CAMPAIGN_STEPS: [Step; 2] = [
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

/// A binary measured, and the folder it runs in.
struct Subject {
    bin: PathBuf,
    dir: PathBuf,
}

impl Subject {
    fn state(&self) -> PathBuf {
        self.dir.join("bulk.rehearsal.state.db")
    }
}

fn main() {
    let o = options();
    let bin = binary(o.bin.as_deref());
    let root = tempfile::Builder::new()
        .prefix("bulk-bench-")
        .tempdir()
        .expect("temp dir");
    let baseline = o.baseline.as_deref().map(|b| binary(Some(b)));
    println!(
        "bulk_bench: {} rows, median of {} runs each; binary {}{}",
        o.rows,
        o.repeat,
        bin.display(),
        baseline
            .as_ref()
            .map(|b| format!(", baseline {}", b.display()))
            .unwrap_or_default(),
    );
    for (n, &mix) in o.mixes.iter().enumerate() {
        let dir = root.path().join(mix.name());
        let subjects: Vec<Subject> = std::iter::once(bin.clone())
            .chain(baseline.clone())
            .enumerate()
            .map(|(i, bin)| Subject {
                bin,
                dir: dir.join(if i == 0 { "new" } else { "baseline" }),
            })
            .collect();
        let started = Instant::now();
        std::fs::create_dir_all(&subjects[0].dir).expect("create the mix's folder");
        let valid = write_campaign(&subjects[0].dir, o.rows, mix);
        for other in &subjects[1..] {
            std::fs::create_dir_all(&other.dir).expect("create the baseline's folder");
            for file in ["campaign.yaml", "contacts.csv"] {
                std::fs::copy(subjects[0].dir.join(file), other.dir.join(file))
                    .expect("copy the campaign");
            }
        }
        let size = std::fs::metadata(subjects[0].dir.join("contacts.csv"))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "\nmix {} (default_region {}): {:.1} MiB, {:.0} % of numbers valid, written in {:.1} s",
            mix.name(),
            mix.default_region(),
            size as f64 / (1 << 20) as f64,
            valid * 100.0,
            started.elapsed().as_secs_f64(),
        );
        measure_steps(&subjects, &MIX_STEPS, o.repeat);
        if n > 0 {
            continue;
        }
        measure_steps(&subjects, &CAMPAIGN_STEPS, o.repeat);
        for subject in &subjects {
            let took = finish(&subject.state());
            let size = std::fs::metadata(subject.state())
                .map(|m| m.len())
                .unwrap_or(0);
            println!(
                "finished: every contact called, as if by a run ({:.1} s; the state file is now {:.0} MiB)",
                took.as_secs_f64(),
                size as f64 / (1 << 20) as f64
            );
        }
        println!("* on the finished campaign:");
        measure_steps(&subjects, &FINISHED, o.repeat);
        for subject in &subjects {
            let report = subject.dir.join("results/bulk.rehearsal.report.html");
            match std::fs::metadata(&report) {
                Ok(m) => println!(
                    "report file of {}: {:.2} MB (target < 5 MB)",
                    subject.bin.display(),
                    m.len() as f64 / 1_000_000.0
                ),
                Err(e) => fail(&format!("no report at {}: {e}", report.display())),
            }
        }
    }
    if o.keep {
        println!("kept: {}", root.keep().display());
    }
}

/// Runs each step `repeat` times for every subject, in turn, and prints the median figures
/// beside the target, and beside the baseline's.
fn measure_steps(subjects: &[Subject], steps: &[Step], repeat: usize) {
    for step in steps {
        let mut runs: Vec<Vec<Figure>> = subjects.iter().map(|_| Vec::new()).collect();
        for _ in 0..repeat {
            for (subject, runs) in subjects.iter().zip(&mut runs) {
                if step.fresh {
                    let state = subject.state();
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", state.display()));
                    }
                }
                runs.push(measure(
                    &subject.bin,
                    &subject.dir,
                    step.args,
                    step.mark,
                    step.exit,
                ));
            }
        }
        let medians: Vec<(f64, f64)> = runs
            .iter()
            .map(|runs| {
                (
                    median(runs.iter().map(|r| r.secs).collect()),
                    median(runs.iter().map(|r| r.peak_kib as f64 / 1024.0).collect()),
                )
            })
            .collect();
        let (max_secs, max_mib) = step.target;
        for (i, ((secs, mib), runs)) in medians.iter().zip(&runs).enumerate() {
            let all: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.secs)).collect();
            let verdict = if *secs <= max_secs && *mib <= max_mib {
                "met"
            } else {
                "MISSED"
            };
            println!(
                "{:<9} {:<8} {secs:>7.2} s  {mib:>6.1} MiB   target <= {max_secs} s, <= {max_mib} MiB: {verdict}   (runs: {} s)",
                step.name,
                if i == 0 { "" } else { "baseline" },
                all.join(", "),
            );
        }
        if let [(secs, mib), (base_secs, base_mib), ..] = medians[..] {
            println!(
                "{:<9} {:<8} {:>7.2}x time {:>6.2}x memory of the baseline",
                step.name,
                "ratio",
                secs / base_secs,
                mib / base_mib,
            );
        }
    }
}
