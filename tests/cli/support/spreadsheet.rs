//! A real spreadsheet engine for round-trip tests: LibreOffice, headless. A CSV is opened as a
//! spreadsheet (UTF-8, special numbers such as dates detected, as Excel does), saved as .xlsx,
//! and the .xlsx saved back as CSV, so a test can compare what the spreadsheet kept.
//!
//! Without LibreOffice (`soffice` on the PATH) the round trip cannot run: under CI (`CI` set,
//! where `.ci/run` installs it) that is a failure; elsewhere the test says why and does not
//! check anything.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The CSV import a user of Excel or LibreOffice gets: comma, double quote, UTF-8, first line
/// 1, standard cells, English (US), quoted cells not forced to text, special numbers detected.
const CSV_IN: &str = "CSV:44,34,76,1,,1033,false,true";
/// CSV export: comma, double quote, UTF-8.
const CSV_OUT: &str = "csv:Text - txt - csv (StarCalc):44,34,76,1";

/// Whether the round trip can run here; `false` (after saying why) only outside CI.
pub fn available(test: &str) -> bool {
    let found = Command::new("soffice")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: LibreOffice (soffice) is not installed; .ci/run installs it (apt-get install libreoffice-calc)"
    );
    eprintln!(
        "{test}: skipped: LibreOffice (soffice) is not installed here (apt-get install \
         libreoffice-calc); under CI this fails"
    );
    false
}

/// Opens `csv` in LibreOffice, saves it as .xlsx, opens that and saves it as CSV; returns the
/// paths of the .xlsx and of the CSV it gives back.
pub fn round_trip(csv: &Path, work: &Path) -> (PathBuf, PathBuf) {
    let profile = work.join("lo-profile");
    let xlsx_dir = work.join("xlsx");
    let back_dir = work.join("back");
    let stem = csv.file_stem().unwrap().to_string_lossy().into_owned();
    let infilter = format!("--infilter={CSV_IN}");
    soffice(
        &profile,
        &[&infilter, "--convert-to", "xlsx"],
        &xlsx_dir,
        csv,
    );
    let xlsx = xlsx_dir.join(format!("{stem}.xlsx"));
    assert!(xlsx.exists(), "LibreOffice wrote no {}", xlsx.display());
    soffice(&profile, &["--convert-to", CSV_OUT], &back_dir, &xlsx);
    let back = back_dir.join(format!("{stem}.csv"));
    assert!(back.exists(), "LibreOffice wrote no {}", back.display());
    (xlsx, back)
}

fn soffice(profile: &Path, args: &[&str], out_dir: &Path, input: &Path) {
    let output = Command::new("soffice")
        // A profile of its own: no clash with another LibreOffice, nothing left in $HOME.
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .arg("--headless")
        .args(args)
        .arg("--outdir")
        .arg(out_dir)
        .arg(input)
        .output()
        .expect("soffice runs");
    assert!(
        output.status.success(),
        "soffice failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
