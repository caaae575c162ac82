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
