//! Calling-window benchmark: what holding back a closed window costs at scale.
//!
//! ```text
//! cargo run --release --example windows_bench -- [--rows 100000]
//! ```
//!
//! Writes a campaign of `--rows` fictional contacts spread over eight zones (inferred from their
//! area codes), imports it into a fresh state file, and then, at an instant when every window
//! is closed, does what the runner's `place_due` does: ask for the next due contact, ask the
//! gate, hold its zone back, until nothing is due. It prints how long that took, how many
//! statements it needed (one per zone, not one per contact), and what one `gate` call costs.
//! It prints what it measured and asserts nothing.

use std::time::Instant;

use bys_campaign::campaign::Campaign;
use bys_campaign::schedule::{self, Gate};
use bys_campaign::store::Store;
use jiff::Timestamp;

/// Area codes of eight zones (New York, Chicago, Denver, Phoenix, Los Angeles, Honolulu,
/// Toronto, Halifax).
const AREAS: [u16; 8] = [212, 312, 303, 602, 415, 808, 416, 902];

fn main() {
    let mut rows: u64 = 100_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("id,first_name,phone\n");
    for i in 0..rows {
        let area = AREAS[(i % AREAS.len() as u64) as usize];
        csv.push_str(&format!("{i},P{i},({area}) 555-01{:02}\n", i % 90));
    }
    std::fs::write(dir.path().join("c.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "name: bench\ninput:\n  path: c.csv\n  key_column: id\n  default_region: US\n\
         call:\n  objective: Hi {{ first_name }}\n\
         schedule:\n  timezone: America/Chicago\n  windows:\n    - { days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"17:00\" }\n",
    )
    .unwrap();
    let campaign = Campaign::load(&dir.path().join("c.yaml")).expect("campaign loads");
    let schedule = campaign.schedule.as_ref().unwrap();
    let mut store = Store::open(&dir.path().join("bench.state.db")).unwrap();
    // Saturday 2026-12-05 12:00Z: every window is closed.
    let now: Timestamp = "2026-12-05T12:00:00Z".parse().unwrap();
    let started = Instant::now();
    bys_campaign::scan::import(&mut store, &campaign, now).unwrap();
    println!("import of {rows} rows: {:.2?}", started.elapsed());

    let started = Instant::now();
    let (mut statements, mut held) = (0, 0);
    while let Some(due) = store.next_due(now).unwrap() {
        let zone = jiff::tz::db()
            .get(due.timezone.as_deref().unwrap())
            .unwrap();
        let Gate::Closed { at, wait } = schedule::gate(schedule, &zone, now) else {
            panic!("every window is closed at {now}");
        };
        held += store
            .defer_zone(due.timezone.as_deref(), now, at, wait.as_str())
            .unwrap();
        statements += 1;
    }
    println!(
        "held back {held} contacts in {statements} statements (one per zone) in {:.2?}",
        started.elapsed()
    );

    let zone = jiff::tz::db().get("America/New_York").unwrap();
    let calls = 100_000;
    let started = Instant::now();
    for i in 0..calls {
        let at = now.checked_add(jiff::SignedDuration::from_secs(i)).unwrap();
        std::hint::black_box(schedule::gate(schedule, &zone, at));
    }
    println!(
        "gate: {:.2?} per call ({calls} calls)",
        started.elapsed() / calls as u32
    );
}
