//! `bys-campaign validate`: good and broken campaigns, each error pointing at file:line:column.

use crate::assert_run;
use crate::support::{CAMPAIGN, Test, repo};

#[test]
fn example_campaign_is_ready() {
    let run = Test::new()
        .current_dir(repo())
        .args(&["validate", "campaigns/appointment-confirmations.yaml"])
        .run();
    assert_eq!(run.code, 0);
    assert_run!(run);
}

#[test]
fn strict_fails_on_invalid_rows() {
    let run = Test::new()
        .current_dir(repo())
        .args(&[
            "validate",
            "--strict",
            "campaigns/appointment-confirmations.yaml",
        ])
        .run();
    assert_eq!(run.code, 65);
    assert!(
        run.stdout
            .ends_with("Not ready: 5 invalid rows (--strict).\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn strict_passes_when_every_row_is_valid() {
    let run = Test::demo()
        .args(&["validate", "--strict", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.ends_with("Ready: 2 calls to place.\n"));
}

#[test]
fn unknown_key_suggests_the_close_one() {
    let run = Test::demo()
        .edit_campaign(
            "  default_region: US\n",
            "  default_region: US\n  phone_colum: phone\n",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn unknown_top_level_key() {
    let run = Test::demo()
        .edit_campaign("name: demo\n", "name: demo\nshedule: {}\n")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn template_variable_that_is_not_a_column() {
    let run = Test::demo()
        .edit_campaign("{{ first_name }}", "{{ firstname }}")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn template_that_does_not_compile() {
    let run = Test::demo()
        .edit_campaign("on {{ date }}.", "on {{ date }.")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn bad_time_zone() {
    let run = Test::demo()
        .edit_campaign("America/New_York", "America/New_Yrok")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn more_than_twenty_fields() {
    let fields: String = (1..=21)
        .map(|i| format!("  - {{ name: f{i} }}\n"))
        .collect();
    let run = Test::demo()
        .edit_campaign(
            "  - { name: confirmed, type: boolean, description: Did they confirm? }\n",
            &fields,
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn every_problem_is_reported_at_once() {
    // serde stops at the first unknown key, so this file has only known keys with bad values.
    let run = Test::demo()
        .file(
            "campaign.yaml",
            "\
name: demo campaign
input:
  path: contacts.csv
  key_column: appointment
  default_region: USA
  delimiter: ';;'
call:
  objective: Hi {{ first_name }}
  caller_id: \"555-0100\"
  language: english
fields:
  - { name: confirmed, type: bool }
  - { name: 2nd, type: string }
  - { name: confirmed }
schedule:
  timezone: America/New_York
  windows:
    - { days: [mon, funday], from: \"18:00\", to: \"09:00\" }
    - { days: [sat], from: \"9am\", to: \"12:00\" }
  last_call_before_end: 10 minutes
limits:
  calls_per_minute: 0
  max_concurrent: -2
  breaker_percent: 120
retry:
  no_answer: { attempts: 0, after: 2hours }
",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn caller_id_may_be_written_without_quotes() {
    // YAML reads `+14155550100` as a number; the campaign must still see the text as written.
    let run = Test::demo()
        .edit_campaign("fields:", "  caller_id: +1 415 555 0100\nfields:")
        .args(&["plan", "campaign.yaml", "--show", "1"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains(r#""callerId": "+14155550100""#),
        "{}",
        run.stdout
    );
}

#[test]
fn caller_id_must_be_e164() {
    let run = Test::demo()
        .edit_campaign("fields:", "  caller_id: \"(415) 555-0100\"\nfields:")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn missing_contacts_file_is_no_input() {
    let run = Test::new()
        .file("campaign.yaml", CAMPAIGN)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 66);
    assert_run!(run);
}

#[test]
fn missing_campaign_file_is_no_input() {
    let run = Test::new().args(&["validate", "nowhere.yaml"]).run();
    assert_eq!(run.code, 66);
    assert_run!(run);
}

#[test]
fn missing_suppression_file_is_no_input() {
    let run = Test::demo()
        .edit_campaign("schedule:", "suppress: [dnc.txt]\nschedule:")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 66);
    assert_eq!(
        run.stderr,
        "error: cannot read the suppression file dnc.txt (named at campaign.yaml:10:12): \
         No such file or directory (os error 2)\n"
    );
}

#[test]
fn csv_with_a_duplicate_column_is_a_broken_campaign() {
    let run = Test::demo()
        .file(
            "contacts.csv",
            "id,first_name,phone,date,phone\n1,Ana,(415) 555-0101,2026-12-07,x\n",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn damaged_csv_rows_are_reported_by_line() {
    // CRLF, a BOM, a quoted cell with a newline and a delimiter, a short row, bad UTF-8, a blank line.
    let mut csv = b"\xef\xbb\xbfid,first_name,phone,date\r\n\
1,\"Ana, Maria\",(415) 555-0101,2026-12-07\r\n\
2,\"Wei\r\nChen\",212-555-0102,2026-12-08\r\n\
3,Short,312-555-0103\r\n\
\r\n\
4,Bad\xff,312-555-0104,2026-12-09\r\n\
5,Ngozi,1.41555E+10,2026-12-09\r\n\
6,Ravi,442079460958,2026-12-10\r\n\
,Nokey,312-555-0107,2026-12-10\r\n\
1,Again,312-555-0108,2026-12-11\r\n"
        .to_vec();
    csv.extend_from_slice(b"7,Lars,+1 900 555 0100,2026-12-11\r\n");
    let run = Test::demo()
        .file("contacts.csv", csv)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0);
    assert_run!(run);
}

#[test]
fn rows_without_a_key_column_are_identified_by_number() {
    let run = Test::demo()
        .edit_campaign("  key_column: id\n", "")
        .file(
            "contacts.csv",
            "id,first_name,phone,date\n1,Ana,(415) 555-0101,d\n2,Ana,+1 415 555 0101,d\n3,Wei,212-555-0102,d\n4,Ana,415.555.0101,d\n",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0);
    assert_run!(run);
}

#[test]
fn suppressed_numbers_are_matched_after_normalization() {
    let run = Test::demo()
        .edit_campaign("schedule:", "suppress: [dnc.txt]\nschedule:")
        .file("dnc.txt", "+1 415 555 0101\n")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("  suppressed        1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("line 2: +14155550101 is on a suppression list"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_campaign_without_schedule_warns_about_calling_hours() {
    let run = Test::demo()
        .edit_campaign("schedule:\n  timezone: America/New_York\n", "")
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("no `schedule`: calls may be placed at any hour"),
        "{}",
        run.stdout
    );
}

#[test]
fn terminal_control_characters_in_cells_are_escaped() {
    let run = Test::demo()
        .file(
            "contacts.csv",
            "id,first_name,phone,date\n1,Ana,\"\x1b[2J555\",d\n",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    assert!(run.stdout.contains(r"\u{1b}[2J555"), "{}", run.stdout);
}

#[test]
fn every_shipped_campaign_validates() {
    let mut found = Vec::new();
    for dir in ["campaigns", "examples/payment-reminders"] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("read example folder") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                found.push(path);
            }
        }
    }
    assert!(
        found.len() >= 2,
        "expected the shipped campaigns, found {found:?}"
    );
    for path in found {
        let run = Test::new()
            .args(&["validate", path.to_str().expect("UTF-8 path")])
            .run();
        assert_eq!(run.code, 0, "{}: {}", path.display(), run.transcript());
    }
}

/// Campaign files broken in the ways people break them: each is refused with exit 78 and a
/// message in the file's own words (no Rust type), at file:line:column.
#[test]
fn malformed_campaign_files_are_explained_in_the_files_own_words() {
    let call = "call:\n  objective: Confirm {{ first_name }}'s appointment on {{ date }}.\n";
    let cases: Vec<(&str, String)> = vec![
        ("unclosed list", CAMPAIGN.replace(call, "call: [oops\n")),
        ("call is a list", CAMPAIGN.replace(call, "call: [oops]\n")),
        ("call is text", CAMPAIGN.replace(call, "call: Confirm it\n")),
        ("call is empty", CAMPAIGN.replace(call, "call:\n")),
        (
            "input is a list",
            CAMPAIGN.replace("input:\n", "input: [1]\nx:\n"),
        ),
        ("limits is a number", format!("{CAMPAIGN}limits: 7\n")),
        (
            "a limit is a word",
            format!("{CAMPAIGN}limits:\n  burst: many\n"),
        ),
        (
            "a retry rule is a number",
            format!("{CAMPAIGN}retry:\n  no_answer: 3\n"),
        ),
        (
            "windows is a mapping",
            CAMPAIGN.replace("schedule:\n", "schedule:\n  windows: {mon: 5}\n"),
        ),
        (
            "days is text",
            CAMPAIGN.replace(
                "schedule:\n",
                "schedule:\n  windows:\n    - { days: mon, from: \"09:00\", to: \"17:00\" }\n",
            ),
        ),
        (
            "fields is a mapping",
            CAMPAIGN.replace(
                "fields:\n  - { name: confirmed, type: boolean, description: Did they confirm? }\n",
                "fields: { name: confirmed }\n",
            ),
        ),
        (
            "a field is a number",
            CAMPAIGN.replace(
                "fields:\n  - { name: confirmed, type: boolean, description: Did they confirm? }\n",
                "fields: [5]\n",
            ),
        ),
        (
            "transcript is a word",
            format!("{CAMPAIGN}output:\n  transcript: maybe\n"),
        ),
        (
            "name is a list",
            CAMPAIGN.replace("name: demo\n", "name: [demo]\n"),
        ),
        ("suppress is a number", format!("{CAMPAIGN}suppress: 5\n")),
        (
            "a key twice",
            CAMPAIGN.replace("name: demo\n", "name: demo\nname: again\n"),
        ),
        (
            "a tab",
            CAMPAIGN.replace("  path: contacts.csv\n", "\tpath: contacts.csv\n"),
        ),
        (
            "unclosed mapping",
            CAMPAIGN.replace("  path: contacts.csv\n", "  path: {contacts.csv\n"),
        ),
        (
            "a list, not a campaign",
            "- name: demo\n- input: x\n".to_owned(),
        ),
        ("empty", String::new()),
    ];
    let mut report = String::new();
    for (what, yaml) in &cases {
        let run = Test::demo()
            .file("campaign.yaml", yaml)
            .args(&["validate", "campaign.yaml"])
            .run();
        assert_eq!(run.code, 78, "{what}: {}", run.transcript());
        let message = run.stderr.trim_end();
        for rust in [
            "struct ",
            "Raw",
            "enum ",
            "variant",
            "i64",
            "u32",
            "invalid type",
            "sequence",
        ] {
            assert!(!message.contains(rust), "{what}: {rust:?} in {message}");
        }
        let at = message
            .strip_prefix("error: campaign.yaml:")
            .unwrap_or_else(|| panic!("{what}: no file name: {message}"));
        let (line, rest) = at.split_once(':').unwrap_or_default();
        let (column, _) = rest.split_once(':').unwrap_or_default();
        assert!(
            line.parse::<u32>().is_ok() && column.parse::<u32>().is_ok(),
            "{what}: no line:column: {message}"
        );
        report.push_str(&format!("# {what}\n{message}\n\n"));
    }
    insta::assert_snapshot!(report);
}

/// `bys-campaign validate … | head -1`: once the reader is gone, the command ends quietly
/// with 0, as programs cut off by their pipe do (it once panicked on the closed pipe).
#[test]
fn a_reader_that_goes_away_ends_the_report_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Test::new()
        .current_dir(repo())
        .args(&["validate", "campaigns/appointment-confirmations.yaml"])
        .command()
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

/// Issue 19: a template that would loop for hours (and grow to gigabytes) on every row.
const BOMB: &str =
    "\"{% for i in range(end=100000) %}{% for j in range(end=100000) %}x{% endfor %}{% endfor %}\"";

#[test]
fn a_template_bomb_is_refused_with_its_line_within_a_second() {
    for command in ["validate", "plan"] {
        let test = Test::demo()
            .edit_campaign(
                "Confirm {{ first_name }}'s appointment on {{ date }}.",
                BOMB,
            )
            .args(&[command, "campaign.yaml"]);
        let started = std::time::Instant::now();
        let run = test.run();
        let took = started.elapsed();
        assert_eq!(run.code, 78, "{}", run.transcript());
        assert!(
            took < std::time::Duration::from_secs(1),
            "{command} took {took:?}"
        );
        if command == "validate" {
            assert_run!(run);
        }
    }
}

#[test]
fn a_rehearsal_refuses_a_template_bomb_before_any_call() {
    let test = Test::demo()
        .edit_campaign(
            "Confirm {{ first_name }}'s appointment on {{ date }}.",
            BOMB,
        )
        .args(&["run", "campaign.yaml", "--sandbox"]);
    let started = std::time::Instant::now();
    let run = test.run();
    assert_eq!(run.code, 78, "{}", run.transcript());
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(
        run.stderr
            .contains("campaign.yaml:7:14: `call.objective` goes over the render budget"),
        "{}",
        run.stderr
    );
    assert!(!test.path().join("demo.rehearsal.state.db").exists());
}

#[test]
fn a_template_over_budget_on_one_row_only_makes_that_row_invalid() {
    // The first rows are fine; a later row's value makes the loop too long.
    let mut contacts = String::from("id,first_name,phone,date,n\n");
    for i in 1..=4 {
        contacts.push_str(&format!("{i},P{i},(415) 555-01{i:02},2026-12-07,3\n"));
    }
    contacts.push_str("5,Big,(415) 555-0105,2026-12-07,50000\n");
    let run = Test::demo()
        .file("contacts.csv", contacts)
        .edit_campaign(
            "Confirm {{ first_name }}'s appointment on {{ date }}.",
            "\"Hi {{ first_name }}{% for i in range(end=n|int) %}.{% endfor %}\"",
        )
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("invalid           1"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "line 6: the objective template goes over its render budget: it takes more than 10,000 loop steps"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_problem_repeated_twenty_thousand_times_is_counted_not_printed() {
    // The demo's fields list replaced by 20,000 entries of the same field, last in the file.
    let without = CAMPAIGN.replace(
        "fields:\n  - { name: confirmed, type: boolean, description: Did they confirm? }\n",
        "",
    );
    let yaml = format!(
        "{without}fields:\n{}",
        "  - { name: confirmed }\n".repeat(20_000)
    );
    let run = Test::demo()
        .file("campaign.yaml", yaml)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(
        run.code,
        78,
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    assert!(run.stderr.lines().count() < 10, "{}", &run.stderr[..2000]);
    assert_run!(run);
}

#[test]
fn every_problem_of_every_row_goes_to_the_invalid_csv() {
    // Line 2 has three problems at once; line 3 repeats line 2's key and has a bad zone too;
    // line 4 is fine; line 5 has a cell too many.
    let contacts = "id,first_name,phone,date,tz\n\
        ,Ana,555-01,2026-12-07,Mars/Base\n\
        7,Wei,(415) 555-0102,2026-12-07,\n\
        7,Lin,(415) 555-0103,2026-12-07,Europe/Lndon\n\
        8,Sam,(415) 555-0104,2026-12-07,,extra\n";
    let test = Test::demo()
        .file("contacts.csv", contacts)
        .edit_campaign(
            "  default_region: US\n",
            "  default_region: US\n  timezone_column: tz\n",
        )
        .args(&[
            "validate",
            "campaign.yaml",
            "--invalid-csv",
            "bad/invalid.csv",
        ]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("  invalid           3"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("a row with several problems is under each"),
        "{}",
        run.stdout
    );
    let written = std::fs::read_to_string(test.path().join("bad/invalid.csv")).unwrap();
    insta::assert_snapshot!(written);
}

#[test]
fn a_file_saved_by_excel_as_windows_1252_says_how_to_save_it() {
    // "Zoë" in Windows-1252: a single 0xEB byte.
    let mut contacts = b"id,first_name,phone,date\n1,Zo".to_vec();
    contacts.extend_from_slice(b"\xeb,(415) 555-0101,2026-12-07\n");
    let run = Test::demo()
        .file("contacts.csv", &contacts)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains(
            "line 2: is not valid UTF-8 (its `first_name` cell reads \"Zoë\" in Windows-1252); the file was probably saved by Excel as \"CSV (Comma delimited)\", which writes Windows-1252: save it as \"CSV UTF-8 (Comma delimited)\" instead"
        ),
        "{}",
        run.stdout
    );
    let header = b"id,first_\xe9name,phone,date\n1,Ana,(415) 555-0101,2026-12-07\n";
    let run = Test::demo()
        .file("contacts.csv", header)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 78, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("save it as \"CSV UTF-8 (Comma delimited)\""),
        "{}",
        run.stderr
    );
}

#[test]
fn gmt_is_accepted_with_a_word_about_british_summer_time() {
    let contacts = "id,first_name,phone,date,tz\n\
        1,Ana,+44 20 7946 0101,2026-12-07,GMT\n\
        2,Wei,+44 20 7946 0102,2026-12-07,Europe/London\n\
        3,Lin,+44 20 7946 0103,2026-12-07,Etc/GMT\n";
    let yaml = CAMPAIGN
        .replace(
            "  default_region: US\n",
            "  default_region: GB\n  timezone_column: tz\n",
        )
        .replace("  timezone: America/New_York\n", "  timezone: GMT\n");
    let run = Test::demo()
        .file("campaign.yaml", yaml)
        .file("contacts.csv", contacts)
        .args(&["validate", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let warnings = &run.stdout[run.stdout.find("Warnings").expect("warnings")..];
    insta::assert_snapshot!(warnings);
}
