//! Validation streams the CSV: peak memory must not grow with the file.
//!
//! This measures memory, not time: peak RSS (VmHWM) of the real process, read from /proc while it
//! runs. Linux only, like the machines this project is tested on.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::Test;

fn contacts(rows: u32) -> String {
    let mut csv = String::from("id,first_name,phone,date,notes\n");
    for i in 0..rows {
        // Fictional numbers: 555-0100..0199 across area codes; every 10th row a number of
        // another country, 20 to 999 by turns, which the API does not call.
        let area = 200 + (i / 100) % 800;
        let phone = if i % 10 == 9 {
            format!("+{} 555 01{:02}", 20 + (i / 10) % 980, i % 100)
        } else {
            format!("({area}) 555-01{:02}", i % 100)
        };
        let _ = writeln!(
            csv,
            "{i},Person {i},{phone},2026-12-07,\"a note long enough to make the file big, {i}\"",
        );
    }
    csv
}

/// Peak resident memory, in KiB, of `validate` on a CSV with `rows` rows.
fn peak_kib(rows: u32) -> u64 {
    peak_kib_of(contacts(rows), rows)
}

/// Peak resident memory, in KiB, of `validate` on `csv`, which has `rows` rows.
fn peak_kib_of(csv: String, rows: u32) -> u64 {
    let test = Test::demo()
        .edit_campaign(
            "  key_column: id\n",
            "  key_column: id\n  phone_column: phone\n",
        )
        .file("contacts.csv", csv)
        .args(&["validate", "campaign.yaml"]);
    let mut child = test
        .command()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn validate");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = child.wait_with_output().expect("collect output");
    assert!(output.status.success(), "validate failed on {rows} rows");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("({rows} rows: ")), "{stdout}");
    assert!(peak > 0, "no VmHWM read for the validate process");
    peak
}

#[test]
fn validating_200k_rows_uses_bounded_memory() {
    let small = peak_kib(20_000);
    let large = peak_kib(200_000);
    eprintln!("peak RSS: 20,000 rows {small} KiB, 200,000 rows {large} KiB");
    // Duplicate detection keeps a 24-byte entry per row in a hash map (up to ~60 bytes a row
    // while the map grows). Holding the rows themselves would cost over 200 bytes a row here
    // (five cells, ~85 bytes of text). So: growth per extra row stays under 100 bytes.
    let per_row = (large.saturating_sub(small)) * 1024 / 180_000;
    eprintln!("growth: {per_row} bytes per row");
    assert!(
        per_row < 100,
        "peak grew from {small} KiB to {large} KiB: {per_row} bytes a row"
    );
    assert!(large < 64 * 1024, "peak RSS {large} KiB on 200,000 rows");
}

/// `short` rows of about 50 bytes, then `long` rows with a note of 1 KB.
fn short_then_long(short: u32, long: u32) -> String {
    let mut csv = String::from("id,first_name,phone,date,notes\n");
    let note = "n".repeat(1_000);
    for i in 0..short + long {
        let notes = if i < short { "" } else { note.as_str() };
        let _ = writeln!(
            csv,
            "{i},P{i},(415) 555-01{:02},2026-12-07,{notes}",
            i % 100
        );
    }
    csv
}

#[test]
fn short_first_rows_do_not_size_the_duplicate_table_to_the_file() {
    // 40,000 rows of 50 bytes then 40,000 of 1 KB: judged by its first rows, the 44 MB file would
    // hold 900,000 rows, and a duplicate table for them takes 14 MiB. The table is sized to at
    // most eight times the rows read (4 MiB here), so the file costs little more than its rows in
    // flight.
    let short = peak_kib_of(short_then_long(80_000, 0), 80_000);
    let mixed = peak_kib_of(short_then_long(40_000, 40_000), 80_000);
    eprintln!("peak RSS: all short {short} KiB, short then long {mixed} KiB");
    assert!(
        mixed < short + 8 * 1024,
        "short rows first: {mixed} KiB against {short} KiB"
    );
}
