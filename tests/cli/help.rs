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
            "bys-campaign-report.1",
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

/// Asks a real bash what `<words><TAB>` completes to, with the script `completions bash` prints
/// sourced the way bash-completion loads it: the function `complete -p` names is called with
/// `COMP_WORDS`, `COMP_CWORD` and (command, current word, previous word), as readline does.
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\n\
         words=({})\n\
         func=$(complete -p bys-campaign | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n\
         COMP_WORDS=(\"${{words[@]}}\"); COMP_CWORD=$(( ${{#words[@]}} - 1 ))\n\
         COMP_LINE=\"${{words[*]}}\"; COMP_POINT=${{#COMP_LINE}}\n\
         prev=''; [ \"$COMP_CWORD\" -gt 0 ] && prev=\"${{words[COMP_CWORD-1]}}\"\n\
         \"$func\" \"${{words[0]}}\" \"${{words[COMP_CWORD]}}\" \"$prev\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" ")
    );
    let output = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_the_options_of_each_command_in_a_real_bash() {
    let test = Test::new().args(&["completions", "bash"]);
    let run = test.run();
    assert_eq!(run.code, 0);
    let script = test.path().join("bys-campaign.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let bin = crate::support::binary();
    for (words, expected) in [
        (vec!["bys-campaign", "ru"], vec!["run"]),
        (
            vec!["bys-campaign", "run", "--s"],
            vec!["--state", "--sandbox", "--start", "--stop-grace"],
        ),
        (vec![bin, "run", "--until"], vec!["--until-idle"]),
        (vec!["bys-campaign", "export", "--ex"], vec!["--excel"]),
        (
            vec!["bys-campaign", "validate", "--inv"],
            vec!["--invalid-csv"],
        ),
        (vec!["bys-campaign", "status", "--re"], vec!["--rehearsal"]),
    ] {
        assert_eq!(bash_completes(&script, &words), expected, "{words:?}");
    }
}
