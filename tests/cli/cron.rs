//! The cron line and the systemd service of docs/running.md, run as written: under `env -i` with
//! cron's environment (`/bin/sh`, `PATH=/usr/bin:/bin`, no API key in it), or systemd's (no
//! shell, its default `PATH`), against a sandbox on loopback. Only the paths are the test's: the
//! binary under test for `/usr/local/bin/bys-campaign`, a temp folder for `/srv/campaigns`.
//! `BYS_API_URL` points the run at the sandbox, as nothing may call the real API here.

use std::process::Command;

use crate::run::sandbox_calls;
use crate::support::{SandboxProcess, Test, binary, repo};

const CAMPAIGN: &str = "\
name: reminders
input:
  path: contacts.csv
  key_column: id
  default_region: US
call:
  objective: Remind {{ name }} of the invoice.
schedule:
  timezone: Europe/London
  windows:
    - { days: [mon, tue, wed, thu, fri, sat, sun], from: \"00:00\", to: \"24:00\" }
";

const CONTACTS: &str = "id,name,phone\n1,Ana,415-555-0190\n2,Wei,212-555-0190\n";

/// The fenced block of `lang` in docs/running.md that contains `marker`.
fn block(lang: &str, marker: &str) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/running.md")).unwrap();
    let fence = format!("```{lang}\n");
    doc.split(&fence)
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_owned())
        .find(|b| b.contains(marker))
        .unwrap_or_else(|| panic!("docs/running.md has no {lang} block with {marker:?}"))
}

/// The documented text with the test's paths in place of the documented ones.
fn localize(text: &str, test: &Test) -> String {
    text.replace("/usr/local/bin/bys-campaign", binary())
        .replace("/srv/campaigns", test.path().to_str().unwrap())
}

fn setup() -> Test {
    Test::new()
        .file("reminders.yaml", CAMPAIGN)
        .file("contacts.csv", CONTACTS)
        .file("api-key", "bys_ak_cron_test\n")
}

#[test]
fn the_documented_cron_line_runs_under_crons_environment() {
    let crontab = block("cron", "--until-idle");
    let tz = crontab
        .lines()
        .find_map(|l| l.strip_prefix("CRON_TZ="))
        .expect("the crontab sets CRON_TZ");
    assert_eq!(
        tz, "Europe/London",
        "CRON_TZ is the example's schedule.timezone"
    );
    let line = crontab
        .lines()
        .find(|l| l.contains("--until-idle") && !l.starts_with('#'))
        .unwrap();
    // Five time fields, then the command; every 15 minutes, for the retries.
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0], "*/15", "{line}");
    let command = fields[5..].join(" ");
    assert!(command.contains("--api-key-file"), "{command}");

    let test = setup();
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "3"]);
    let home = test.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = || {
        Command::new("env")
            .args(["-i", "PATH=/usr/bin:/bin", "SHELL=/bin/sh", "LOGNAME=ops"])
            .arg(format!("HOME={}", home.display()))
            .arg(format!("CRON_TZ={tz}"))
            .arg(format!("BYS_API_URL={}", sandbox.base_url))
            .args(["/bin/sh", "-c", &localize(&command, &test)])
            .status()
            .unwrap()
    };
    let status = run();
    let log = std::fs::read_to_string(test.path().join("run.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("finished: every contact is settled"), "{log}");
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 2, "{log}");
    assert!(!log.contains("bys_ak_cron_test"), "the key is never logged");
    // The log says when each run started, with the version and the campaign.
    let again = run();
    assert_eq!(again.code(), Some(0));
    let log = std::fs::read_to_string(test.path().join("run.log")).unwrap();
    let first_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("run started "))
        .collect();
    assert_eq!(first_lines.len(), 2, "{log}");
    assert!(log.starts_with("run started "), "{log}");
    let version = env!("CARGO_PKG_VERSION");
    for line in first_lines {
        assert!(
            line.contains(&format!(
                "Z: bys-campaign {version}, campaign reminders.yaml, pid "
            )),
            "{line}"
        );
    }
}

#[test]
fn the_documented_systemd_service_runs_as_written() {
    let service = block("ini", "ExecStart=");
    let value = |key: &str| {
        service
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("the service has no {key}"))
            .to_owned()
    };
    assert_eq!(value("Type"), "oneshot");
    assert_eq!(value("SuccessExitStatus"), "75");
    let timer = block("ini", "OnCalendar=");
    assert!(timer.contains("OnCalendar=Mon..Fri *-*-* 08..19:00/15:00 Europe/London"));

    let test = setup();
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "4"]);
    let exec = localize(&value("ExecStart"), &test);
    let dir = localize(&value("WorkingDirectory"), &test);
    let words: Vec<&str> = exec.split_whitespace().collect();
    // systemd runs ExecStart without a shell, with its own default PATH.
    let out = Command::new("env")
        .args([
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ])
        .arg(format!("HOME={}", test.path().join("home").display()))
        .arg(format!("BYS_API_URL={}", sandbox.base_url))
        .args(&words)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.starts_with("run started "), "{stderr}");
    assert_eq!(sandbox_calls(&sandbox.base_url).len(), 2, "{stderr}");
}
