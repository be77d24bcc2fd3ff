//! The in-container Python package's own tests (unittest), run on the host's
//! Python so that `cargo test --workspace` is the one test command.

mod support;

use std::io::Write as _;

use support::project::{command, find_program, project_root, text};

#[test]
fn python_unit_tests_pass() {
    let Some(python) = find_program("python3") else {
        let _ = writeln!(std::io::stderr(), "skipped: python3 is not on PATH");
        assert!(
            std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() != Ok("1"),
            "python3 required in CI"
        );
        return;
    };
    let out = command(python.to_str().unwrap())
        .args(["-m", "unittest", "discover", "-s", "tests/python", "-t", "."])
        .current_dir(project_root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = text(&out.stderr);
    assert!(out.status.success(), "python tests failed:\n{report}");
    let ran = report.lines().find(|l| l.starts_with("Ran ")).unwrap_or_default();
    assert!(!ran.starts_with("Ran 0 "), "no python test ran: {report}");
}
