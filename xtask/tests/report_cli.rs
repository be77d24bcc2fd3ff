//! `cargo xtask report` as a user runs it, without an engine: bad paths are usage
//! errors (exit 2, one line) before anything is written.

mod support;

use support::project::{project_root, text, xtask, TempDir};

#[test]
fn bad_paths_exit_2_with_one_line_and_write_nothing() {
    let cwd = TempDir::new("report-cwd");
    std::fs::write(cwd.path.join("README.md"), "").unwrap();
    let sample = project_root().join("xtask/tests/data/report");
    let sample = sample.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--export-analysis", ""], "ERROR: --export-analysis needs a directory"),
        (&["--export-analysis", "README.md"], "ERROR: --export-analysis README.md is not a"),
        (&["--results-dir", ""], "ERROR: --results-dir needs a directory"),
        (&["--results-dir", "missing"], "ERROR: the results directory missing does not exist"),
    ];
    for (args, expected) in cases {
        let mut command = xtask();
        command.current_dir(&cwd.path).arg("report");
        if args[0] != "--results-dir" {
            command.args(["--results-dir", sample]);
        }
        let out = command.args(args).arg("claude-sample").output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        let entries: Vec<_> = std::fs::read_dir(&cwd.path).unwrap().collect();
        assert_eq!(entries.len(), 1, "{args:?}: only README.md is there");
    }
}
