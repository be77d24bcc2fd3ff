//! Runs the `shellcheck` program (Debian package `shellcheck`) over a batch of
//! `RUN` scripts: the scripts go to files in a private temporary directory and one
//! `shellcheck` process reads many of them at a time (two in parallel for a large
//! batch), so a run over hundreds of Dockerfiles starts it once or twice, not once
//! per `RUN`.
//!
//! ShellCheck takes about 4 ms of CPU per script, more than all the other rules, so
//! its answers are cached by content: `target/xtask-cache/shellcheck/<sha256>.json`
//! under the project, keyed by the script's text and the `shellcheck` program (path,
//! size and modification time, which change with its version). A cache that cannot be
//! read or written only costs speed.

use std::sync::atomic::{AtomicUsize, Ordering};

use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest as _, Sha256};

use crate::context::Context;
use crate::engine::{self, exec};
use crate::output;

use super::shellcheck::{parse_json1, Batch, ShellFinding, EXCLUDED, MAX_SCRIPT_BYTES};

/// Files per `shellcheck` process, to keep its argv well under the system limit.
const FILES_PER_RUN: usize = 2000;

/// The installed `shellcheck`, if any (`-v` says when there is none).
pub fn find(ctx: &Context) -> Option<Utf8PathBuf> {
    let found = engine::find_on_path(&ctx.env, "shellcheck");
    if found.is_none() {
        output::detail(
            ctx,
            "lint-dockerfile: shellcheck is not installed; \
             RUN scripts are not checked by it (apt-get install shellcheck)",
        );
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
    if let Some(&(_, line)) = batch.too_long.first() {
        let message = format!(
            "lint-dockerfile: {} RUN script(s) over {} KB (the first on line {line}) \
             are not checked by shellcheck",
            batch.too_long.len(),
            MAX_SCRIPT_BYTES / 1024
        );
        output::detail(ctx, &message);
    }
    let cache = ResultCache::new(ctx, program);
    let keys: Vec<String> = batch.scripts.iter().map(|s| cache.key(&s.text)).collect();
    let mut results: Vec<Option<Vec<ShellFinding>>> = keys.iter().map(|k| cache.get(k)).collect();
    // Each distinct script once: copies of a file share their scripts.
    let mut missing: Vec<usize> = (0..results.len()).filter(|&i| results[i].is_none()).collect();
    let mut seen = std::collections::HashSet::new();
    missing.retain(|&i| seen.insert(keys[i].as_str()));
    if !missing.is_empty() {
        let texts: Vec<&str> = missing.iter().map(|&i| batch.scripts[i].text.as_str()).collect();
        match check_texts(ctx, program, &texts) {
            Ok(found) => {
                let mut by_key = std::collections::HashMap::new();
                for (&i, findings) in missing.iter().zip(found) {
                    cache.put(&keys[i], &findings);
                    by_key.insert(keys[i].as_str(), findings);
                }
                for (result, key) in results.iter_mut().zip(&keys) {
                    if result.is_none() {
                        *result = by_key.get(key.as_str()).cloned();
                    }
                }
            }
            Err(error) => {
                output::warn(ctx, &format!("lint-dockerfile: shellcheck did not run: {error}"))
            }
        }
    }
    results.into_iter().map(Option::unwrap_or_default).collect()
}

/// Runs ShellCheck over `texts`, in two processes at once for a large batch.
fn check_texts(
    ctx: &Context,
    program: &Utf8Path,
    texts: &[&str],
) -> Result<Vec<Vec<ShellFinding>>, String> {
    let dir = ScratchDir::new().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let paths: Vec<String> = (0..texts.len()).map(|i| format!("{}/{i}.sh", dir.0)).collect();
    for (text, path) in texts.iter().zip(&paths) {
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let per_process = if texts.len() > 64 { texts.len().div_ceil(2) } else { texts.len() };
    let chunks: Vec<&[String]> = paths.chunks(per_process.clamp(1, FILES_PER_RUN)).collect();
    let answers: Vec<Result<Vec<(String, ShellFinding)>, String>> = std::thread::scope(|scope| {
        let running: Vec<_> =
            chunks.iter().map(|chunk| scope.spawn(|| run_once(ctx, program, chunk))).collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|_| Err("a shellcheck runner failed".into())))
            .collect()
    });
    let mut results = vec![Vec::new(); texts.len()];
    for (file, finding) in answers.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten()
    {
        let index = Utf8Path::new(&file)
            .file_stem()
            .and_then(|stem| stem.parse::<usize>().ok())
            .filter(|&i| i < results.len());
        if let Some(index) = index {
            results[index].push(finding);
        }
    }
    Ok(results)
}

fn run_once(
    ctx: &Context,
    program: &Utf8Path,
    paths: &[String],
) -> Result<Vec<(String, ShellFinding)>, String> {
    let mut args: Vec<String> =
        vec!["--norc".into(), "-f".into(), "json1".into(), "-e".into(), EXCLUDED.join(",")];
    args.extend(paths.iter().cloned());
    let out = exec::tool_output(ctx, program, &args).map_err(|e| format!("{e:#}"))?;
    // 0: no comments, 1: some comments; anything else is a usage or I/O problem.
    if !matches!(out.code(), 0 | 1) {
        let first = out.stderr.lines().next().unwrap_or("").to_string();
        return Err(format!("exit status {}: {first}", out.code()));
    }
    parse_json1(&out.stdout)
}

/// ShellCheck's answers by script content.
struct ResultCache {
    dir: Utf8PathBuf,
    program_key: String,
}

impl ResultCache {
    fn new(ctx: &Context, program: &Utf8Path) -> ResultCache {
        let stamp = std::fs::metadata(program).ok().map(|m| {
            let modified =
                m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{}", m.len(), modified.map_or(0, |d| d.as_nanos()))
        });
        let program_key =
            format!("{program}\0{}\0{}", stamp.unwrap_or_default(), EXCLUDED.join(","));
        ResultCache { dir: ctx.root.join("target/xtask-cache/shellcheck"), program_key }
    }

    fn key(&self, text: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(self.program_key.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn get(&self, key: &str) -> Option<Vec<ShellFinding>> {
        let text = std::fs::read_to_string(self.dir.join(format!("{key}.json"))).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let items = value.as_array()?;
        items
            .iter()
            .map(|c| {
                Some(ShellFinding {
                    code: u32::try_from(c.get("code")?.as_u64()?).ok()?,
                    level: c.get("level")?.as_str()?.to_string(),
                    message: c.get("message")?.as_str()?.to_string(),
                    line: usize::try_from(c.get("line")?.as_u64()?).ok()?,
                    column: usize::try_from(c.get("column")?.as_u64()?).ok()?,
                })
            })
            .collect()
    }

    fn put(&self, key: &str, findings: &[ShellFinding]) {
        let items: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "code": f.code, "level": f.level, "message": f.message,
                    "line": f.line, "column": f.column,
                })
            })
            .collect();
        let path = self.dir.join(format!("{key}.json"));
        let temporary = self.dir.join(format!("{key}.json.{}.tmp", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&temporary, serde_json::Value::Array(items).to_string()))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}
