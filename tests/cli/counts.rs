//! One count everywhere (issue 19): `validate`, `run`, `status` and `export` divide the rows of
//! the same messy CSV the same way, and rows that are never called are not "waiting".

use std::collections::BTreeMap;

use crate::support::Test;

const CAMPAIGN: &str = "\
name: messy
input:
  path: contacts.csv
  key_column: id
  default_region: US
  timezone_column: tz
call:
  objective: Confirm {{ first_name }}'s appointment.
suppress: [dnc.txt]
output:
  path: results.csv
";

/// Twelve rows: five to call (555-0190 always completes, 555-0191 never answers), a repeated
/// key, an empty key, a bad number, a bad zone, a row with a cell too many, one that is not
/// UTF-8, and a suppressed number.
fn contacts() -> Vec<u8> {
    let mut csv = b"id,first_name,phone,tz\n\
        1,Ana,(415) 555-0190,\n\
        2,Wei,(415) 555-0191,\n\
        1,Again,(212) 555-0190,\n\
        ,NoKey,(212) 555-0190,\n\
        4,Bad,555-01,\n\
        5,Zed,(646) 555-0190,Mars/Base\n\
        6,Cel,(646) 555-0191,,extra\n\
        8,Sup,(415) 555-0150,\n\
        9,Joe,(312) 555-0190,America/Chicago\n\
        10,Kim,(646) 555-0190,\n\
        11,Lee,(312) 555-0191,\n"
        .to_vec();
    csv.extend_from_slice(b"7,Zo\xeb,(415) 555-0192,\n");
    csv
}

/// The one line every command prints, in the same words.
const CENSUS: &str = "12 rows: 5 to call, 6 invalid, 1 suppressed";

fn test(args: &[&str]) -> Test {
    Test::new()
        .file("campaign.yaml", CAMPAIGN)
        .file("contacts.csv", contacts())
        .file("dnc.txt", "(415) 555-0150\n")
        .args(args)
}

#[test]
fn validate_run_status_and_export_agree_on_a_messy_csv() {
    let validate = test(&["validate", "campaign.yaml"]).run();
    assert_eq!(validate.code, 0, "{}", validate.transcript());
    assert!(
        validate
            .stdout
            .contains(&format!("Contacts   contacts.csv ({CENSUS})")),
        "{}",
        validate.stdout
    );
    assert!(
        validate.stdout.contains("  invalid           6"),
        "{}",
        validate.stdout
    );

    let plan = test(&["plan", "campaign.yaml", "--json", "--show", "0"]).run();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();

    // The rehearsal: a first run calls until it is idle, a second finishes the retries.
    let test = test(&["run", "campaign.yaml", "--sandbox", "--until-idle"]);
    let run = test.run();
    assert!(matches!(run.code, 0 | 75), "{}", run.transcript());
    assert!(
        run.stderr
            .contains(&format!("contacts: {CENSUS} in contacts.csv")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("campaign: {CENSUS} (to call: ")),
        "{}",
        run.stderr
    );
    let rest = test
        .command_with(&["run", "campaign.yaml", "--sandbox"])
        .output()
        .unwrap();
    assert_eq!(
        rest.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rest.stderr)
    );

    let status = test
        .command_with(&["status", "campaign.yaml", "--rehearsal"])
        .output()
        .unwrap();
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(
        status.contains(&format!("Rows in the CSV: {CENSUS}")),
        "{status}"
    );
    let waiting = status
        .split("Waiting, by reason")
        .nth(1)
        .unwrap_or_default();
    for never in ["invalid", "suppressed", "duplicate"] {
        assert!(
            !waiting.contains(never),
            "{never} rows are not waiting:\n{status}"
        );
    }
    let json = test
        .command_with(&["status", "campaign.yaml", "--rehearsal", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json["census"], plan["census"],
        "status --json and plan --json"
    );
    assert_eq!(json["census"]["rows"], 12);

    let export = test
        .command_with(&["export", "campaign.yaml", "--rehearsal", "-o", "out.csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(export.stderr).unwrap();
    assert!(
        stderr.contains(&format!("exported to out.csv: {CENSUS}")),
        "{stderr}"
    );
    // The results file holds the same rows: one line each, by the same division.
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(test.path().join("out.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let at = header.iter().position(|h| h == "status").unwrap();
    for record in reader.records() {
        *by_status.entry(record.unwrap()[at].to_owned()).or_default() += 1;
    }
    let never: u64 = ["invalid", "suppressed"]
        .iter()
        .map(|s| by_status.get(*s).copied().unwrap_or(0))
        .sum();
    assert_eq!(by_status.values().sum::<u64>(), 12, "{by_status:?}");
    assert_eq!(
        (by_status["invalid"], by_status["suppressed"]),
        (6, 1),
        "{by_status:?}"
    );
    assert_eq!(12 - never, 5, "{by_status:?}");
}
