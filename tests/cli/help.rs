//! `--help` is part of the user manual: its text is snapshotted so changes are reviewed.

use crate::assert_run;
use crate::support::Test;

#[test]
fn top_level_help_lists_every_command() {
    let run = Test::new().args(&["--help"]).run();
    assert_eq!(run.code, 0);
    assert_run!(run);
}

#[test]
fn each_command_explains_itself_with_an_example() {
    for command in ["validate", "plan", "run", "status", "export", "sandbox"] {
        let run = Test::new().args(&[command, "--help"]).run();
        assert_eq!(run.code, 0, "{command}");
        assert!(
            run.stdout.contains("Example"),
            "`{command} --help` has no example:\n{}",
            run.stdout
        );
        insta::assert_snapshot!(format!("help_{command}"), run.stdout);
    }
}

#[test]
fn completions_cover_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = Test::new().args(&["completions", shell]).run();
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for command in [
            "validate", "plan", "run", "status", "explain", "export", "sandbox",
        ] {
            assert!(run.stdout.contains(command), "{shell}: no {command}");
        }
        assert!(run.stdout.contains("stop-grace"), "{shell}: flags of run");
    }
    let bad = Test::new().args(&["completions", "tcsh"]).run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn man_prints_the_page_or_writes_one_per_command() {
    let printed = Test::new().args(&["man"]).run();
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    assert!(
        printed.stdout.contains(".TH bys-campaign 1"),
        "{}",
        printed.stdout
    );

    let test = Test::new().args(&["man", "--dir", "man1"]);
    let written = test.run();
    assert_eq!(written.code, 0, "{}", written.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(test.path().join("man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "bys-campaign-completions.1",
            "bys-campaign-explain.1",
            "bys-campaign-export.1",
            "bys-campaign-man.1",
            "bys-campaign-plan.1",
            "bys-campaign-run.1",
            "bys-campaign-sandbox.1",
            "bys-campaign-status.1",
            "bys-campaign-validate.1",
            "bys-campaign.1",
        ]
    );
    let run = std::fs::read_to_string(test.path().join("man1/bys-campaign-run.1")).unwrap();
    assert!(run.contains(".TH bys-campaign-run 1"), "{run}");
    assert!(run.contains("stop\\-grace"), "{run}");
}
