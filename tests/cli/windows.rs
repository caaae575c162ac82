//! Calling windows and time zones, end to end: the real binary against the real sandbox on a
//! simulated clock that starts at night, so the runner must wait for each contact's window.
//!
//! What these prove, from the sandbox's own record of every call (`GET /sandbox/calls`) or the
//! state file: nothing is placed before a window opens; every placement's simulated creation
//! time lies inside its contact's local window; zones come from the column, the number or the
//! default, as the results say; `require_known_timezone` skips the contacts it must; and
//! `not_after` ends the campaign cleanly with the rest left pending.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};

use crate::run::{rehearsal_results, results, sandbox_calls};
use crate::support::{SandboxProcess, Test, binary, fixture};

/// Four contacts, one per way of finding a zone: London from the column, New York and Los
/// Angeles from the number, and 850 (the Florida panhandle, split between two zones) that falls
/// back to the campaign's zone, Chicago. Every number ends in 555-0190, which the sandbox
/// always completes, so each contact gets exactly one call.
const CONTACTS: &str = "\
id,first_name,phone,tz
1,Ann,(212) 555-0190,
2,Bob,(415) 555-0190,
3,Cat,(850) 555-0190,
4,Dan,(646) 555-0190,Europe/London
";

fn campaign(schedule_extra: &str) -> String {
    format!(
        "\
name: zones
input:
  path: contacts.csv
  key_column: id
  timezone_column: tz
  default_region: US
call:
  objective: Remind {{{{ first_name }}}} of the appointment.
schedule:
  timezone: America/Chicago
  windows:
    - {{ days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"17:00\" }}
{schedule_extra}output:
  path: results.csv
"
    )
}

fn setup(schedule_extra: &str, contacts: &str) -> Test {
    Test::new()
        .file("campaign.yaml", campaign(schedule_extra))
        .file("contacts.csv", contacts)
}

/// The columns that do not depend on the run's randomness, as a small table to snapshot.
fn zone_table(test: &Test) -> String {
    let mut out = String::new();
    for row in results(test) {
        out.push_str(&format!(
            "{} {:<10} {:<20} {:<8} {}\n",
            row["first_name"], row["status"], row["timezone"], row["tz_source"], row["error"]
        ));
    }
    out
}

/// Whether `at` is inside Mon–Fri 09:00–17:00 in `zone`.
fn inside_window(at: Timestamp, zone: &str) -> bool {
    let local = at.to_zoned_datetime(jiff::tz::db().get(zone).unwrap());
    let weekday = !matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
    let time = local.time();
    weekday && time >= Time::constant(9, 0, 0, 0) && time < Time::constant(17, 0, 0, 0)
}

#[test]
fn a_rehearsal_started_outside_the_windows_places_each_call_inside_its_contacts_window() {
    // Sunday 2026-12-06 18:00Z: every window is closed (the weekend). On Monday they open at
    // 09:00Z in London, 14:00Z in New York, 15:00Z in Chicago and 17:00Z in Los Angeles. The
    // runner follows the sandbox's clock, 10,000 times faster than real time; the 15 simulated
    // hours before the first opening leave the runner seconds to start, even on a busy machine.
    let test = setup("", CONTACTS);
    let sandbox = SandboxProcess::spawn(&[
        "--time-scale",
        "0.0001",
        "--start",
        "2026-12-06T18:00:00Z",
        "--outcomes",
        "completed=1",
    ]);
    let out = Command::new(binary())
        .args([
            "run",
            "campaign.yaml",
            "--api-url",
            &sandbox.base_url,
            "--yes",
        ])
        .current_dir(test.path())
        .env("BYS_API_KEY", "bys_ak_test_windows")
        .env("XDG_STATE_HOME", test.path().join("state-home"))
        .env_remove("BYS_API_URL")
        .env_remove("BYS_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the runner starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("finished: every contact is settled"),
        "{stderr}"
    );

    let calls = sandbox_calls(&sandbox.base_url);
    assert_eq!(calls.len(), 4, "{calls:#?}");
    let zones: BTreeMap<&str, &str> = [
        ("+12125550190", "America/New_York"),
        ("+14155550190", "America/Los_Angeles"),
        ("+18505550190", "America/Chicago"),
        ("+16465550190", "Europe/London"),
    ]
    .into();
    let opens: BTreeMap<&str, Timestamp> = [
        ("Europe/London", "2026-12-07T09:00:00Z"),
        ("America/New_York", "2026-12-07T14:00:00Z"),
        ("America/Chicago", "2026-12-07T15:00:00Z"),
        ("America/Los_Angeles", "2026-12-07T17:00:00Z"),
    ]
    .map(|(zone, at)| (zone, at.parse().unwrap()))
    .into();
    for call in &calls {
        let zone = zones[call["to"].as_str().unwrap()];
        let created: Timestamp = call["createdAt"].as_str().unwrap().parse().unwrap();
        assert!(
            inside_window(created, zone),
            "{created} is outside the window in {zone}"
        );
        assert!(created >= opens[zone], "{created} is before {zone} opened");
    }
    // Each zone was held back once, in one step, and the runner said until when.
    assert_eq!(
        stderr.matches("calling window closed; next opens").count(),
        4,
        "{stderr}"
    );
    assert!(
        stderr.contains("1 contact(s) in America/Los_Angeles: calling window closed; next opens Mon 2026-12-07 09:00 PST (17:00Z)"),
        "{stderr}"
    );
    insta::assert_snapshot!(zone_table(&test), @r"
    Ann completed  America/New_York     number   
    Bob completed  America/Los_Angeles  number   
    Cat completed  America/Chicago      default  
    Dan completed  Europe/London        column
    ");
}

#[test]
fn a_sandbox_rehearsal_from_a_given_start_sleeps_in_simulated_time_until_the_window() {
    // The in-process sandbox, started on Saturday night: nothing may go out before Monday
    // 09:00 in each zone, two simulated days later, which at this scale is about ten real
    // seconds of sleep (not two days, and not a busy loop).
    let test = setup("", CONTACTS);
    let run = rehearse(&test, "2026-12-05 22:00", "0.0001");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("from 2026-12-06T04:00:00Z"),
        "the start is read in schedule.timezone: {}",
        run.stderr
    );
    let placed: Vec<(String, i64)> =
        fixture::attempts_with_contacts(&test.path().join("zones.rehearsal.state.db"))
            .into_iter()
            .map(|(a, c)| {
                (
                    c.timezone.expect("a placed contact has a zone"),
                    a.created_at,
                )
            })
            .collect();
    assert_eq!(placed.len(), 4, "{placed:?}");
    for (zone, ms) in placed {
        let at = Timestamp::from_millisecond(ms).unwrap();
        assert!(
            inside_window(at, &zone),
            "{at} is outside the window in {zone}"
        );
    }
    // The results show the simulated times: calls started on Monday 2026-12-07.
    for row in rehearsal_results(&test) {
        if !row["started_at"].is_empty() {
            assert!(row["started_at"].starts_with("2026-12-07T"), "{row:?}");
        }
    }
}

#[test]
fn a_rehearsal_skips_the_nights_instead_of_sleeping_through_them() {
    // At 1/100 of real time, Saturday 22:00 to Monday 09:00 would be 21 real minutes of sleep;
    // with nothing in flight the rehearsal skips it, so only the calls themselves take real
    // time (seconds). Bounded generously: this checks that the wait is skipped, not speed.
    let test = setup("", CONTACTS);
    let mut child = Command::new(binary())
        .args([
            "run",
            "campaign.yaml",
            "--sandbox",
            "--start",
            "2026-12-05 22:00",
            "--time-scale",
            "0.01",
        ])
        .current_dir(test.path())
        .env_remove("BYS_API_KEY")
        .env_remove("BYS_API_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the rehearsal slept through the weekend instead of skipping it");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("rehearsal: nothing in flight; skipping"),
        "{stderr}"
    );
    let placed = rehearsal_results(&test)
        .iter()
        .filter(|row| row["started_at"].starts_with("2026-12-07T"))
        .count();
    assert_eq!(placed, 4, "every contact called on Monday");
}

#[test]
fn explain_says_a_contact_due_now_still_waits_for_its_window() {
    let test = setup("", CONTACTS);
    let run = test_args(
        &test,
        &[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--start",
            "2026-12-07 12:00",
            "--max-calls",
            "1",
        ],
    );
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("--max-calls 1 reached"),
        "{}",
        run.stderr
    );
    let explained = test_args(&test, &["explain", "campaign.yaml", "4", "--rehearsal"]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    assert!(
        explained.stdout.contains("inside its calling window"),
        "{}",
        explained.stdout
    );
}

#[test]
fn require_known_timezone_skips_contacts_that_would_use_the_default() {
    let test = setup("  require_known_timezone: true\n", CONTACTS);
    let validate = test_args(&test, &["validate", "campaign.yaml"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    assert!(
        validate
            .stdout
            .contains("  invalid           1  skipped; listed in the results"),
        "{}",
        validate.stdout
    );
    assert!(
        validate.stdout.contains(
            "no known time zone (require_known_timezone) (1): line 4\n    line 4: +18505550190: no time zone is known for it (its `tz` cell is empty and the number does not tell one)"
        ),
        "{}",
        validate.stdout
    );
    assert!(
        validate
            .stdout
            .contains("  from the timezone column       1\n  from the number                2\n  schedule.timezone              0  America/Chicago"),
        "{}",
        validate.stdout
    );
    // Monday 12:00 in Chicago: every window but London's is open.
    let run = rehearse(&test, "2026-12-07 12:00", "0.0001");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = rehearsal_results(&test);
    assert_eq!(rows[2]["status"], "invalid", "{rows:?}");
    assert!(
        rows[2]["error"].contains("schedule.require_known_timezone is on"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r["first_name"] != "Cat")
            .all(|r| r["status"] != "pending" && r["status"] != "invalid"),
        "{rows:?}"
    );
}

#[test]
fn not_after_ends_the_campaign_and_leaves_the_rest_pending() {
    // Monday 08:00 in Chicago; the campaign ends at 10:30 Chicago time (16:30Z). New York opens
    // at 14:00Z and Chicago at 15:00Z; Los Angeles would open at 17:00Z, after the end. London's
    // window is open from the start (14:00 there) until 16:50Z: called. Time runs only 1000
    // times faster here, so the runner's start takes minutes of the 2.5 simulated hours.
    let test = setup("  not_after: \"2026-12-07 10:30\"\n", CONTACTS);
    let run = rehearse(&test, "2026-12-07 08:00", "0.001");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "campaign over: schedule.not_after (2026-12-07T16:30:00Z) has passed; 1 contact(s) stay pending in the results"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "1 contact(s) in America/Los_Angeles: no calling window opens before schedule.not_after"
        ),
        "{}",
        run.stderr
    );
    let rows = rehearsal_results(&test);
    let bob = rows.iter().find(|r| r["first_name"] == "Bob").unwrap();
    assert_eq!(bob["status"], "pending");
    assert_eq!(bob["attempts"], "0");
    assert_eq!(
        bob["error"],
        "the campaign ended (schedule.not_after 2026-12-07T16:30:00Z) before its next call could be placed"
    );
    assert!(
        rows.iter()
            .filter(|r| r["first_name"] != "Bob")
            .all(|r| r["attempts"] != "0"),
        "{rows:?}"
    );
    // Run again later: the campaign is over, nothing is placed, and it says so at once.
    let again = rehearse(&test, "2026-12-07 11:00", "0.001");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("this run: 0 call(s) placed"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("1 contact(s) stay pending"),
        "{}",
        again.stderr
    );
}

/// `run campaign.yaml --sandbox` from a simulated `start`, at a time `scale`.
fn rehearse(test: &Test, start: &str, scale: &str) -> crate::support::Run {
    test_args(
        test,
        &[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--start",
            start,
            "--time-scale",
            scale,
        ],
    )
}

/// The test's folder, run with other arguments.
fn test_args(test: &Test, args: &[&str]) -> crate::support::Run {
    let out = Command::new(binary())
        .args(args)
        .current_dir(test.path())
        .env_remove("BYS_API_KEY")
        .env_remove("BYS_API_URL")
        .env_remove("BYS_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("run bys-campaign");
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn a_retry_that_falls_due_after_the_window_waits_for_the_next_one() {
    // 555-0191 never answers. Its retry comes 9 hours after the first call, which is placed on
    // Monday inside 09:00–17:00 New York time: so the retry falls due in the evening or night,
    // and must wait for Tuesday 09:00.
    let test = setup(
        "retry:\n  no_answer: { attempts: 2, after: 9h }\n",
        "id,first_name,phone,tz\n1,Ann,(212) 555-0191,\n",
    );
    let run = rehearse(&test, "2026-12-07 03:00", "0.0001");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let created: Vec<Timestamp> = fixture::attempts(&test.path().join("zones.rehearsal.state.db"))
        .iter()
        .map(|a| Timestamp::from_millisecond(a.created_at).unwrap())
        .collect();
    assert_eq!(created.len(), 2, "{created:?}");
    let tuesday: Timestamp = "2026-12-08T14:00:00Z".parse().unwrap();
    assert!(created[0] < tuesday && inside_window(created[0], "America/New_York"));
    assert!(
        created[1] >= tuesday,
        "the retry went out at {}",
        created[1]
    );
    assert!(
        inside_window(created[1], "America/New_York"),
        "{}",
        created[1]
    );
    let rows = rehearsal_results(&test);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["attempts"].as_str()),
        ("no_answer", "2")
    );
}
