//! `bys-campaign export`: the results CSV from a state file, at any time.

use std::fs;

use crate::assert_run;
use crate::support::Test;
use crate::support::fixture::{self, midway_test as midway};

#[test]
fn writes_the_results_csv_beside_the_campaign() {
    let test = midway().args(&["export", "campaign.yaml"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_run!(run);
    let csv = fs::read_to_string(test.path().join("results/demo.csv")).unwrap();
    // The file keeps the API's text as sent; the snapshot shows its escape character.
    assert!(csv.contains("temporary \u{1b}[31mfailure"));
    insta::assert_snapshot!("results_csv", csv.replace('\u{1b}', "<ESC>"));
}

#[test]
fn raw_to_another_file() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "out/raw.csv", "--raw"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "out/raw.csv\n");
    let csv = fs::read_to_string(test.path().join("out/raw.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[1].starts_with("1,Ana,(415) 555-0101,vip,completed,2,completed,true,2,-asks"),
        "{csv}"
    );
    assert!(
        csv.contains("\n5,\"=HYPERLINK(\"\"http://127.0.0.1/x\"\")\",(646) 555-0105,"),
        "{csv}"
    );
}

#[test]
fn works_while_a_run_is_writing_and_sees_only_what_it_committed() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "r.csv"]);
    let writer = fixture::uncommitted_completion(&test.path().join("demo.state.db"), "7");
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let csv = fs::read_to_string(test.path().join("r.csv")).unwrap();
    let seven = csv.lines().find(|l| l.starts_with("7,")).unwrap();
    assert!(
        seven.starts_with("7,Kim,(646) 555-0107,,pending,1,"),
        "{seven}"
    );
    writer.roll_back();
}

#[test]
fn before_any_run_it_says_how_to_start_one() {
    let run = Test::new()
        .file("campaign.yaml", fixture::CAMPAIGN)
        .file("contacts.csv", fixture::CONTACTS)
        .args(&["export", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 66);
    assert_run!(run);
}

#[test]
fn a_state_file_of_another_campaign_is_refused() {
    let test = midway();
    let other = fixture::CAMPAIGN.replace("name: demo", "name: other");
    let test = test.file("other.yaml", other);
    let run = test
        .args(&["export", "other.yaml", "--state", "demo.state.db"])
        .run();
    assert_eq!(run.code, 78);
    assert_run!(run);
}

#[test]
fn a_folder_in_the_way_fails_and_leaves_nothing_behind() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "taken.csv"]);
    fs::create_dir(test.path().join("taken.csv")).unwrap();
    let run = test.run();
    assert_eq!(run.code, 1);
    assert_run!(run);
    let names: Vec<String> = fs::read_dir(test.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(names, Vec::<String>::new());
}

#[test]
fn dash_writes_the_csv_to_standard_output_and_no_file() {
    let test = midway().args(&["export", "campaign.yaml", "-o", "-"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .starts_with("id,first_name,phone,status,bys_status,"),
        "{}",
        run.stdout
    );
    let records = csv::Reader::from_reader(run.stdout.as_bytes())
        .records()
        .count();
    assert_eq!(records, 8, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("exported to standard output: 8 rows: 6 to call, 2 invalid"),
        "{}",
        run.stderr
    );
    assert!(!test.path().join("-").exists(), "no file named -");
    assert!(!test.path().join("results").exists());
}

#[test]
fn excel_and_raw_do_not_go_together() {
    let run = midway()
        .args(&["export", "campaign.yaml", "--excel", "--raw"])
        .run();
    assert_eq!(run.code, 2, "{}", run.transcript());
}

#[test]
fn for_excel_with_a_byte_order_mark_local_times_and_numbers_kept_as_text() {
    let test = midway().args(&["export", "campaign.yaml", "--excel", "-o", "excel.csv"]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let csv = fs::read_to_string(test.path().join("excel.csv")).unwrap();
    assert!(csv.starts_with('\u{feff}'), "a byte-order mark first");
    insta::assert_snapshot!(csv.replace('\u{1b}', "<ESC>").replace('\u{feff}', "<BOM>"));
}

/// A UK campaign whose rows hold what spreadsheets damage: accented names, numbers with a
/// leading zero or of 12 digits, a leading `+`, an amount with a minus sign, formulas.
const UK_CAMPAIGN: &str = "\
name: uk
input:
  path: contacts.csv
  key_column: id
  default_region: GB
call:
  objective: Confirm {{ name }}'s appointment.
fields:
  - { name: confirmed, type: boolean }
  - { name: new_time, type: string }
schedule:
  timezone: Europe/London
output:
  excel: true
";

const UK_CONTACTS: &str = "\
id,name,phone,ref,amount
1,Zoë Ó'Brien,02079460107,007,-15.00
2,Siobhán Ní Bhriain,+44 20 7946 0108,=1+1,12.50
3,Øystein Åsen,07700 900123,442079460109,3
4,Ana,442079460109,-call back,0
5,Bo,020 7946,x,1
";

/// What a spreadsheet shows for a cell written as `written`: the text of `="…"`, else as is.
fn shown(written: &str) -> &str {
    written
        .strip_prefix("=\"")
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(written)
}

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_results_survive_a_round_trip_through_a_spreadsheet() {
    let name = "the_results_survive_a_round_trip_through_a_spreadsheet";
    if !crate::support::spreadsheet::available(name) {
        return;
    }
    let test = Test::new()
        .file("campaign.yaml", UK_CAMPAIGN)
        .file("contacts.csv", UK_CONTACTS)
        .args(&[
            "run",
            "campaign.yaml",
            "--sandbox",
            "--start",
            "2026-12-07 09:00",
        ]);
    let run = test.run();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let written = test.path().join("results/uk.rehearsal.csv");
    assert!(
        fs::read_to_string(&written)
            .unwrap()
            .starts_with('\u{feff}')
    );
    let (xlsx, back) = crate::support::spreadsheet::round_trip(&written, test.path());
    assert!(xlsx.exists());
    let ours = read_csv(&written);
    let theirs = read_csv(&back);
    assert_eq!(ours.len(), theirs.len(), "rows");
    let header = &ours[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (r, (mine, kept)) in ours.iter().zip(&theirs).enumerate() {
        for (c, cell) in mine.iter().enumerate() {
            let got = kept.get(c).map_or("", String::as_str);
            let want = shown(cell);
            // `-15.00` is shown as -15: the same value (a number with no fraction keeps its
            // digits, so a lost leading zero is caught).
            let same = want == got
                || want.contains('.')
                    && want
                        .parse::<f64>()
                        .ok()
                        .zip(got.parse::<f64>().ok())
                        .is_some_and(|(a, b)| a == b)
                || (want == "true" || want == "false") && want.eq_ignore_ascii_case(got);
            assert!(
                same,
                "row {r}, column {}: wrote {cell:?}, the spreadsheet kept {got:?}",
                header[c]
            );
        }
    }
    // Names, numbers and times intact, by name.
    let row1 = &theirs[1];
    assert_eq!(row1[col("name")], "Zoë Ó'Brien");
    assert_eq!(row1[col("phone")], "02079460107");
    assert_eq!(row1[col("ref")], "007");
    assert_eq!(row1[col("dialled")], "+442079460107");
    assert_eq!(theirs[3][col("ref")], "442079460109");
    assert_eq!(
        theirs[2][col("ref")],
        "'=1+1",
        "a formula stays neutralised"
    );
    assert_eq!(theirs[4][col("phone")], "442079460109");
    assert_eq!(theirs[4][col("dialled")], "+442079460109");
    assert_eq!(theirs[4][col("ref")], "'-call back");
    assert_eq!(theirs[5][col("status")], "invalid");
    assert!(theirs[5][col("reason")].starts_with("never: the row is invalid"));
    // The times are date-times to the spreadsheet, in the schedule's zone, to the second.
    let fods = test.path().join("fods");
    let output = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            test.path().join("lo-profile").display()
        ))
        .args(["--headless", "--convert-to", "fods", "--outdir"])
        .arg(&fods)
        .arg(&xlsx)
        .output()
        .unwrap();
    assert!(output.status.success());
    let sheet = fs::read_to_string(fods.join(format!(
        "{}.fods",
        xlsx.file_stem().unwrap().to_string_lossy()
    )))
    .unwrap();
    let dates: Vec<&str> = sheet
        .split("office:date-value=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    let times: Vec<String> = ours[1..]
        .iter()
        .flat_map(|row| [&row[col("started_at")], &row[col("ended_at")]])
        .filter(|t| !t.is_empty())
        .map(|t| t.replace(' ', "T"))
        .collect();
    assert!(!times.is_empty());
    assert_eq!(dates, times, "every time is a date-time cell");
    for t in &times {
        assert!(t.starts_with("2026-12-0"), "{t}");
        assert_eq!(t.len(), 19, "no fraction, no zone suffix: {t}");
    }
    assert!(
        sheet.contains("office:value-type=\"string\" office:string-value=\"02079460107\""),
        "the phone number is text"
    );
}
