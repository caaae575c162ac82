//! `bys-campaign report`: the campaign's report page, from a real rehearsal of the example
//! campaign and from state files played as a run leaves them; and the page in a real browser
//! (headless Chromium): its charts drawn, a script planted in a CSV cell not run, nothing
//! requested from outside the file.

use std::fs;
use std::path::Path;

use crate::assert_run;
use crate::support::sandbox::SandboxProcess;
use crate::support::{Test, fixture, html, repo};

/// A copy of the example campaign in a temp folder (a rehearsal writes beside it).
fn example() -> Test {
    let dir = repo().join("campaigns");
    let mut test = Test::new();
    for name in [
        "appointment-confirmations.yaml",
        "appointment-confirmations.csv",
        "do-not-call.csv",
    ] {
        test = test.file(name, fs::read(dir.join(name)).unwrap());
    }
    test
}

/// Runs `args` in `test`'s folder.
fn in_folder(test: &Test, args: &[&str]) -> crate::support::Run {
    Test::new()
        .current_dir(test.path().to_owned())
        .args(args)
        .run()
}

/// What in the page's text changes from run to run: times (the report's own, the runs', the
/// calls'). A rehearsal's simulated clock runs 1000 times faster than the real one, so how long
/// the process took to start moves every call by simulated minutes: the heatmap's rows (the
/// local hours calls were placed in) and the width of the buckets over time are left out (their
/// data is tested in `html_report::page`, their rendering in the browser test below).
fn page_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[TIME]"),
        (
            r"(?m)(^\d\d:00 \|.*\n|^\d\d:00\n)+",
            "[local hours, by weekday: the share reached]\n",
        ),
        (r"Calls placed per [^,]+,", "Calls placed per [BUCKET],"),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
    ]
}

#[test]
fn the_example_campaigns_report_has_every_section() {
    let test = example();
    let campaign = "appointment-confirmations.yaml";
    let rehearsal = in_folder(
        &test,
        &["run", campaign, "--sandbox", "--start", "2026-12-07 08:00"],
    );
    assert_eq!(rehearsal.code, 0, "{}", rehearsal.transcript());
    let page = "results/appointment-confirmations.rehearsal.report.html";
    assert!(
        rehearsal.stderr.contains(&format!("report: {page}\n")),
        "run refreshes the report: {}",
        rehearsal.stderr
    );
    let refreshed = fs::read_to_string(test.path().join(page)).unwrap();

    let report = in_folder(&test, &["report", campaign, "--rehearsal"]);
    assert_eq!(report.code, 0, "{}", report.transcript());
    assert_eq!(
        report.stdout,
        format!("{page}\n"),
        "stdout carries the path"
    );
    let page = fs::read_to_string(test.path().join(page)).unwrap();
    assert_eq!(
        html::text(&refreshed),
        html::text(&page),
        "run wrote the same report"
    );
    for section in [
        "answers",
        "funnel",
        "retries",
        "timing",
        "cost",
        "attention",
        "runs",
    ] {
        assert!(
            page.contains(&format!("<section id=\"{section}\"")),
            "{section}"
        );
    }
    assert!(page.len() < 200_000, "{} bytes", page.len());
    insta::with_settings!({ filters => page_filters() }, {
        insta::assert_snapshot!(html::text(&page));
    });
}

/// A state file whose CSV and API text carry markup and phone numbers: a key that is an
/// `<img onerror>`, a failed call whose summary and transcript quote a number and a `<script>`,
/// an answer in `<b>`, an API error in `<i>`.
fn hostile() -> Test {
    let contacts = "\
id,first_name,phone,status
\"<img src=x onerror=alert(1)>\",Ana,(415) 555-0101,
2,Wei,212-555-0102,
3,Lin,\"<script>alert(2)</script>\",
4,Sam,(312) 555-0104,
";
    let test = Test::new()
        .file("campaign.yaml", fixture::CAMPAIGN)
        .file("contacts.csv", contacts);
    let path = fixture::imported(test.path());
    let key = "<img src=x onerror=alert(1)>";
    fixture::finished_call(
        &path,
        key,
        "call-1",
        r#"{"id":"call-1","status":"failed","summary":"Could not reach +1 415 555 0101 <script>alert(3)</script>",
        "transcript":[{"role":"agent","text":"Hello? <b>anyone</b>"}],"durationSec":3}"#,
        Some("<i>carrier</i> error"),
        "2026-12-07T17:01:00Z",
    );
    fixture::settled(&path, key, "failed", 1);
    fixture::finished_call(
        &path,
        "2",
        "call-2",
        r#"{"id":"call-2","status":"completed","extracted":{"confirmed":true,"visits":3,"note":"<b>call me on 415 555 0177</b>"},"durationSec":61}"#,
        None,
        "2026-12-07T17:02:00Z",
    );
    fixture::settled(&path, "2", "completed", 1);
    test
}

#[test]
fn values_are_escaped_numbers_masked_and_conversations_left_out_unless_full() {
    let test = hostile();
    let run = in_folder(&test, &["report", "campaign.yaml", "-o", "default.html"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "default.html\n");
    let page = fs::read_to_string(test.path().join("default.html")).unwrap();
    for markup in ["<img", "<script>alert", "<b>", "<i>"] {
        assert!(
            !page.contains(markup),
            "{markup} reached the page as markup"
        );
    }
    let text = html::text(&page);
    for shown in [
        "<img src=x onerror=alert(1)>",
        "\"<script>alert(2)</script>\": not a valid phone number",
        "<i>carrier</i> error",
        "<b>call me on ••• ••• 0177</b>",
        "+•••••••0101",
    ] {
        assert!(
            text.contains(shown),
            "{shown} is not shown as text:\n{text}"
        );
    }
    for hidden in ["5550101", "555 0177", "Could not reach", "anyone"] {
        assert!(!text.contains(hidden), "{hidden} is shown:\n{text}");
    }

    let full = in_folder(
        &test,
        &["report", "campaign.yaml", "-o", "full.html", "--full"],
    );
    assert_eq!(full.code, 0, "{}", full.transcript());
    assert!(full.stderr.contains("--full"), "{}", full.stderr);
    let page = fs::read_to_string(test.path().join("full.html")).unwrap();
    assert!(!page.contains("<script>alert"), "escaped with --full too");
    let text = html::text(&page);
    for shown in [
        "+14155550101",
        "<b>call me on 415 555 0177</b>",
        "Could not reach +1 415 555 0101 <script>alert(3)</script>",
        "Agent: Hello? <b>anyone</b>",
    ] {
        assert!(text.contains(shown), "{shown} is not shown:\n{text}");
    }
}

#[test]
fn works_while_a_run_holds_the_state_file_and_writes_nothing_to_it() {
    let test = fixture::midway_test();
    let db = test.path().join("demo.state.db");
    let before = fs::read(&db).unwrap();
    let writer = fixture::uncommitted_completion(&db, "7");
    let run = in_folder(&test, &["report", "campaign.yaml"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    writer.roll_back();
    let page = fs::read_to_string(test.path().join("results/demo.report.html")).unwrap();
    let text = html::text(&page);
    assert!(
        text.contains("reached (the call completed) | 1\n"),
        "the uncommitted completion is not seen:\n{text}"
    );
    assert_eq!(
        fs::read(&db).unwrap(),
        before,
        "the state file is unchanged"
    );
}

#[test]
fn before_any_run_it_says_how_to_start_one() {
    let run = Test::new()
        .file("campaign.yaml", fixture::CAMPAIGN)
        .file("contacts.csv", fixture::CONTACTS)
        .args(&["report", "campaign.yaml"])
        .run();
    assert_eq!(run.code, 66);
    assert_run!(run);
}

#[test]
fn a_page_that_cannot_be_written_fails_and_leaves_nothing_behind() {
    let test = fixture::midway_test();
    fs::create_dir(test.path().join("taken.html")).unwrap();
    let run = in_folder(&test, &["report", "campaign.yaml", "-o", "taken.html"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("cannot write the report to taken.html"));
    let temps = fs::read_dir(test.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(temps, 0);
}

#[test]
fn a_live_runs_report_never_holds_the_api_key() {
    let test = crate::run::setup("  calls_per_minute: 600", &crate::run::plain_contacts(4));
    let sandbox = SandboxProcess::spawn(&["--time-scale", "0.001", "--seed", "5"]);
    let done = crate::run::run_to_end(crate::run::runner(&test, &sandbox.base_url));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("report: run.report.html"),
        "{}",
        done.stderr
    );
    let full = in_folder(
        &test,
        &["report", "campaign.yaml", "--full", "-o", "full.html"],
    );
    assert_eq!(full.code, 0, "{}", full.transcript());
    for page in ["run.report.html", "full.html"] {
        let page = fs::read_to_string(test.path().join(page)).unwrap();
        assert!(page.contains("<section id=\"answers\""), "{page}");
        assert!(!page.contains(crate::run::KEY), "the key is in {page}");
        assert!(!page.contains("bys_ak_"), "a key is in {page}");
    }
}

#[test]
fn each_run_is_listed_with_how_it_ended() {
    let test = Test::demo();
    let first = in_folder(
        &test,
        &["run", "campaign.yaml", "--sandbox", "--max-calls", "1"],
    );
    // Stopped at the cap with work left: the next run's (75, EX_TEMPFAIL).
    assert_eq!(first.code, 75, "{}", first.transcript());
    let second = in_folder(&test, &["run", "campaign.yaml", "--sandbox"]);
    assert_eq!(second.code, 0, "{}", second.transcript());
    let page = fs::read_to_string(test.path().join("results/demo.rehearsal.report.html")).unwrap();
    let text = html::text(&page);
    let runs = text.split("\nRuns\n").nth(1).unwrap();
    let rows: Vec<&str> = runs
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 2, "{runs}");
    assert!(
        rows[0].contains("| 1 | stopped placing at a cap |"),
        "{runs}"
    );
    assert!(
        rows[1].contains("| 1 | finished: every contact settled"),
        "{runs}"
    );
}

// ---- In a real browser ------------------------------------------------------------------------

/// The headless browser, or why there is none: under CI (`CI` set) a missing browser fails the
/// test; elsewhere the test is skipped with the reason printed.
fn chromium() -> Option<std::path::PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        let why = "no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)";
        assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// What the browser did with a page.
struct Browsed {
    /// Its stdout (`--dump-dom`: the rendered document).
    stdout: String,
    /// Console messages it logged (Content-Security-Policy violations among them).
    console: Vec<String>,
    /// Network requests made for the page (not the browser's own: it has some), from its
    /// NetLog: those made in the page's context, a `file://` one.
    requests: Vec<String>,
}

/// Chromium run headless on `page` with `extra` arguments, in a fresh profile, its network
/// sent to a proxy on loopback that answers nothing (the browser's own background requests
/// never leave the machine).
fn browse(browser: &Path, page: &Path, extra: &[&str]) -> Browsed {
    let work = tempfile::tempdir().unwrap();
    let netlog = work.path().join("netlog.json");
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    // A sink: every connection is answered 502 and closed.
    std::thread::spawn(move || {
        for stream in proxy.incoming().flatten() {
            let _ = std::io::Write::write_all(&mut &stream, b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        }
    });
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            &format!("--proxy-server=http://127.0.0.1:{port}"),
            // Not even loopback is reached directly.
            "--proxy-bypass-list=<-loopback>",
            &format!("--user-data-dir={}", work.path().join("profile").display()),
            &format!("--log-net-log={}", netlog.display()),
            "--enable-logging=stderr",
            "--log-level=0",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let log: serde_json::Value = serde_json::from_slice(&fs::read(&netlog).unwrap())
        .unwrap_or_else(|e| panic!("chromium's NetLog is not JSON: {e}"));
    let start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let requests = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start)
        .map(|e| &e["params"])
        .filter(|p| {
            ["network_isolation_key", "site_for_cookies"]
                .iter()
                .any(|k| p[k].as_str().is_some_and(|v| v.contains("file://")))
        })
        .map(|p| p["url"].as_str().unwrap_or_default().to_owned())
        .collect();
    Browsed {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests,
    }
}

/// A rehearsed campaign with a field of each type, a row whose key plants a script, another
/// whose phone cell plants one; returns the folder and the report page.
fn rehearsed_with_a_planted_script() -> (Test, std::path::PathBuf) {
    let campaign = "\
name: planted
input:
  path: contacts.csv
  key_column: id
  default_region: US
call:
  objective: Ask {{ first_name }} about the visit.
fields:
  - { name: confirmed, type: boolean }
  - { name: visits, type: number }
  - { name: note, type: string }
";
    let mut contacts = String::from("id,first_name,phone\n");
    for i in 0..30 {
        contacts.push_str(&format!("{i},Person {i},(415) 555-01{:02}\n", 10 + i % 80));
    }
    contacts.push_str(
        "\"<img src=x onerror=\"\"document.documentElement.dataset.pwned='yes'\"\">\",Eve,not a number\n\
         99,Mal,\"<img src=x onerror=\"\"document.documentElement.dataset.pwned='yes'\"\">\"\n",
    );
    let test = Test::new()
        .file("campaign.yaml", campaign)
        .file("contacts.csv", contacts);
    let run = in_folder(&test, &["run", "campaign.yaml", "--sandbox"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let page = test.path().join("results/planted.rehearsal.report.html");
    assert!(page.is_file());
    (test, page)
}

#[test]
fn in_a_browser_the_charts_render_a_planted_script_does_not_run_and_nothing_is_fetched() {
    let Some(browser) = chromium() else { return };
    let (test, page) = rehearsed_with_a_planted_script();
    let seen = browse(&browser, &page, &["--dump-dom"]);
    let dom = &seen.stdout;
    assert!(dom.contains("<section id=\"answers\""), "{dom}");
    assert!(
        !dom.contains("data-pwned"),
        "the planted onerror ran: {}",
        dom.lines().next().unwrap_or_default()
    );
    assert_eq!(
        html::count_elements(dom, "img"),
        0,
        "no <img> element was made"
    );
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "the planted cell shows as text"
    );
    for chart in [
        "field-boolean",
        "field-number",
        "field-string",
        "funnel",
        "retries",
        "heatmap",
        "over-time",
        "meter",
        "call-lengths",
    ] {
        assert!(
            dom.contains(&format!("data-chart=\"{chart}\"")),
            "no {chart} chart in the rendered page"
        );
    }
    // The SVG charts drawn by plotters are in the document, not just their markup as text.
    let svgs = html::count_elements(dom, "svg");
    assert!(svgs >= 3, "{svgs} SVG charts");
    // Our script ran (it makes sortable headers focusable): the policy names it rightly.
    assert!(
        dom.contains("tabindex=\"0\""),
        "the sort script did not run"
    );
    assert_eq!(
        seen.console,
        Vec::<String>::new(),
        "the console logged something"
    );
    assert_eq!(
        seen.requests,
        Vec::<String>::new(),
        "the page asked for something"
    );

    // The checks can fail. A page that loads an image from the network: its request is seen.
    let asks = test.path().join("asks.html");
    fs::write(
        &asks,
        "<!DOCTYPE html><img src=\"http://127.0.0.1:9/x.png\">",
    )
    .unwrap();
    let seen = browse(&browser, &asks, &["--dump-dom"]);
    assert_eq!(seen.requests, ["http://127.0.0.1:9/x.png"]);
    // The report's policy, on a page that tries to load something and to run a script: the
    // browser refuses each and says so.
    let report = fs::read_to_string(&page).unwrap();
    let policy = report
        .lines()
        .find(|l| l.contains("Content-Security-Policy"))
        .unwrap();
    let tries = test.path().join("tries.html");
    fs::write(
        &tries,
        format!(
            "<!DOCTYPE html><html><head>{policy}</head><body><img src=\"other.png\">\
             <img src=x onerror=\"document.title='ran'\"><script>document.title='ran'</script>\
             </body></html>"
        ),
    )
    .unwrap();
    let seen = browse(&browser, &tries, &["--dump-dom"]);
    assert!(!seen.stdout.contains("<title>ran"), "{}", seen.stdout);
    assert!(seen.requests.is_empty(), "{:?}", seen.requests);
    assert!(
        seen.console.len() >= 3
            && seen
                .console
                .iter()
                .all(|l| l.contains("Content Security Policy")),
        "{:#?}",
        seen.console
    );

    // And the page renders to pixels.
    let shot = test.path().join("report.png");
    let seen = browse(
        &browser,
        &page,
        &[
            "--window-size=1000,2000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert_eq!(seen.requests, Vec::<String>::new());
    let png = fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}
