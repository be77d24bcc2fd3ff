//! Runs the `shellcheck` program (Debian package `shellcheck`) over a batch of
//! `RUN` scripts: the scripts go to files in a private temporary directory and one
//! `shellcheck` process reads a few thousand of them at a time, so a run over
//! hundreds of Dockerfiles starts it once, not once per `RUN`.

use std::sync::atomic::{AtomicUsize, Ordering};

use camino::{Utf8Path, Utf8PathBuf};

use crate::context::Context;
use crate::engine::{self, exec};
use crate::output;

use super::shellcheck::{parse_json1, Batch, ShellFinding, EXCLUDED};

/// Files per `shellcheck` process, to keep its argv well under the system limit.
const FILES_PER_RUN: usize = 2000;

/// The installed `shellcheck`, if any (`-v` says when there is none).
pub fn find(ctx: &Context) -> Option<Utf8PathBuf> {
    let found = engine::find_on_path(&ctx.env, "shellcheck");
    if found.is_none() {
        output::detail(ctx, "lint-dockerfile: shellcheck is not installed; RUN scripts are not checked by it (apt-get install shellcheck)");
    }
    found
}

/// A private directory removed when dropped.
struct ScratchDir(Utf8PathBuf);

impl ScratchDir {
    fn new() -> std::io::Result<ScratchDir> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir();
        let name = format!(
            "xtask-shellcheck-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let path = Utf8PathBuf::from_path_buf(base.join(name))
            .map_err(|_| std::io::Error::other("the temporary directory is not UTF-8"))?;
        std::fs::create_dir(&path)?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Checks every script of the batch; a failure to run ShellCheck is a warning and
/// costs only its findings.
pub fn check(ctx: &Context, program: &Utf8Path, batch: &Batch) -> Vec<Vec<ShellFinding>> {
    let mut results = vec![Vec::new(); batch.scripts.len()];
    if let Err(error) = check_into(ctx, program, batch, &mut results) {
        output::warn(ctx, &format!("lint-dockerfile: shellcheck did not run: {error}"));
    }
    results
}

fn check_into(
    ctx: &Context,
    program: &Utf8Path,
    batch: &Batch,
    results: &mut [Vec<ShellFinding>],
) -> Result<(), String> {
    let dir = ScratchDir::new().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let paths: Vec<String> =
        (0..batch.scripts.len()).map(|i| format!("{}/{i}.sh", dir.0)).collect();
    for (script, path) in batch.scripts.iter().zip(&paths) {
        std::fs::write(path, &script.text).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    for chunk in paths.chunks(FILES_PER_RUN) {
        let mut args: Vec<String> =
            vec!["--norc".into(), "-f".into(), "json1".into(), "-e".into(), EXCLUDED.join(",")];
        args.extend(chunk.iter().cloned());
        let out = exec::tool_output(ctx, program, &args).map_err(|e| format!("{e:#}"))?;
        // 0: no comments, 1: some comments; anything else is a usage or I/O problem.
        if !matches!(out.code(), 0 | 1) {
            let first = out.stderr.lines().next().unwrap_or("").to_string();
            return Err(format!("exit status {}: {first}", out.code()));
        }
        for (file, finding) in parse_json1(&out.stdout)? {
            let index = Utf8Path::new(&file)
                .file_stem()
                .and_then(|stem| stem.parse::<usize>().ok())
                .filter(|&i| i < results.len());
            if let Some(index) = index {
                results[index].push(finding);
            }
        }
    }
    Ok(())
}
