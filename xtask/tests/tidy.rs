//! The repository checks itself: module docs, file sizes, the one process
//! chokepoint, pinned bases, every user-visible message documented in
//! docs/troubleshooting.md, and the module layering of docs/architecture.md
//! (no import cycle, no task importing another).

mod support;

use std::path::{Path, PathBuf};

use support::project::project_root;

fn rust_sources() -> Vec<PathBuf> {
    rust_files_under("xtask/src")
}

/// The `.rs` files under `dir` (relative to the project root).
fn rust_files_under(dir: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(project_root().join(dir))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(project_root()).unwrap_or(path).display().to_string()
}

#[test]
fn every_module_has_a_doc_comment() {
    let missing: Vec<String> = rust_sources()
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().trim_start().starts_with("//!"))
        .map(|p| relative(&p))
        .collect();
    assert!(missing.is_empty(), "files without a //! module doc: {missing:?}");
}

#[test]
fn no_file_is_too_long() {
    let long: Vec<String> = rust_sources()
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("tests"))
        .filter_map(|p| {
            let lines = std::fs::read_to_string(&p).unwrap().lines().count();
            (lines > 600).then(|| format!("{} ({lines} lines)", relative(&p)))
        })
        .collect();
    assert!(long.is_empty(), "split these into a module folder: {long:?}");
}

/// `max_width` of the project's rustfmt.toml.
fn rustfmt_max_width() -> usize {
    let config = std::fs::read_to_string(project_root().join("rustfmt.toml")).unwrap();
    config
        .lines()
        .find_map(|line| {
            line.strip_prefix("max_width")?.trim().strip_prefix('=')?.trim().parse().ok()
        })
        .expect("rustfmt.toml sets max_width")
}

#[test]
fn no_line_is_wider_than_rustfmt_formats() {
    // rustfmt leaves a whole statement unformatted when a string literal or comment in it
    // is wider than max_width, so a long line hides unformatted code around it.
    let max_width = rustfmt_max_width();
    let mut wide = Vec::new();
    let dirs = ["xtask/src", "xtask/tests", "xtask/examples", "fuzz/fuzz_targets"];
    for path in dirs.into_iter().flat_map(rust_files_under) {
        let file = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        for (index, line) in text.lines().enumerate() {
            let width = line.chars().count();
            if width > max_width {
                wide.push(format!("{file}:{}: {width} characters", index + 1));
            }
        }
    }
    assert!(
        wide.is_empty(),
        "lines wider than max_width = {max_width} (split the literal with a \\ continuation \
         or concat!, rewrap the comment):\n{}",
        wide.join("\n")
    );
}

#[test]
fn only_the_engine_layer_and_the_report_read_dry_run() {
    // engine::exec prints actions instead of running them and tells the task what it did;
    // the files a task writes itself, with no engine command, are the exceptions: the
    // report's pages and the Dockerfile that docker-build --update-pins rewrites.
    let allowed =
        ["context.rs", "main.rs", "engine/exec.rs", "report/mod.rs", "docker_build/modes.rs"];
    let offenders: Vec<String> = rust_sources()
        .into_iter()
        .filter(|p| !allowed.iter().any(|a| p.ends_with(a)))
        .filter(|p| !p.to_string_lossy().contains("tests"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            code.lines()
                .any(|line| !line.trim_start().starts_with("//") && line.contains("dry_run"))
        })
        .map(|p| relative(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "act on engine::exec's answers (Acted::Printed, Ran::Printed, will_run) instead of \
         reading --dry-run: {offenders:?}"
    );
}

#[test]
fn only_the_engine_spawns_processes() {
    let offenders: Vec<String> = rust_sources()
        .into_iter()
        .filter(|p| !p.starts_with(project_root().join("xtask/src/engine")))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let code = text.lines().filter(|line| !line.trim_start().starts_with("//"));
            code.into_iter().any(|line| {
                line.contains("Command::new") || line.contains("process::Command::from")
            })
        })
        .map(|p| relative(&p))
        .collect();
    assert!(offenders.is_empty(), "spawn processes through engine::exec: {offenders:?}");
}

#[test]
fn every_base_of_the_project_dockerfile_is_pinned_and_fully_qualified() {
    let text = std::fs::read_to_string(project_root().join("docker/Dockerfile")).unwrap();
    let parsed = xtask::dockerfile::parse(&text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let mut externals = 0;
    for from in parsed.resolve_froms(&Default::default()) {
        if let xtask::dockerfile::Base::Image(image) = &from.base {
            externals += 1;
            assert!(image.is_pinned(), "line {}: {image} is not pinned by digest", from.line);
            // Podman asks which registry a short name means, or refuses to guess.
            assert!(image.registry.is_some(), "line {}: {image} is not fully qualified", from.line);
        }
    }
    assert!(
        externals >= 2,
        "expected the python bases of the builder, claude-code and runtime stages"
    );
}

/// The literal start of each message passed to `usage(`, `bail!(`, `anyhow!(`,
/// `context(`/`with_context(`, `eprintln!(` and `warn(` (after its first argument, the
/// context): the text before the first placeholder, quote, escape or backtick, even when
/// the call spans lines.
fn message_prefixes(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let openers = ["usage(", "bail!(", "anyhow!(", "eprintln!(", ".context(", "with_context(|| "];
    for opener in openers {
        let mut rest = source;
        while let Some(index) = rest.find(opener) {
            rest = &rest[index + opener.len()..];
            found.extend(literal_prefix(rest));
        }
    }
    // The message is the second argument: `warn(ctx, "...")`, `interrupted(code, "...")`.
    for opener in ["warn(", "interrupted("] {
        let mut rest = source;
        while let Some(index) = rest.find(opener) {
            rest = &rest[index + opener.len()..];
            // `fn warn(ctx: ...` is the definition, not a call.
            if source[..source.len() - rest.len()].ends_with(&format!("fn {opener}")) {
                continue;
            }
            if let Some(comma) = first_argument_end(rest) {
                found.extend(literal_prefix(&rest[comma + 1..]));
            }
        }
    }
    found
}

/// The message literal's documented prefix at the start of `text`, if it is a literal.
fn literal_prefix(text: &str) -> Option<String> {
    let after = text.trim_start();
    let after = after.strip_prefix("&").unwrap_or(after);
    let after = after.strip_prefix("format!(").unwrap_or(after).trim_start();
    let literal = after.strip_prefix('"')?;
    let end = literal.find(['{', '"', '\\', '`']).unwrap_or(literal.len());
    let prefix = literal[..end].trim();
    (prefix.len() >= 12 && !prefix.starts_with("internal")).then(|| prefix.to_string())
}

/// Where the first argument of a call ends (its top-level comma), without crossing the
/// call's closing parenthesis.
fn first_argument_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return None,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return Some(index),
            '"' => return None,
            _ => {}
        }
    }
    None
}

#[test]
fn the_message_scan_sees_calls_over_several_lines() {
    let source = concat!(
        "output::warn(\n",
        "    &self.ctx,\n",
        "    &format!(\"could not remove service {name}\"),\n",
        ");\n",
        "eprintln!(\"lint-dockerfile: configuration key\");\n",
        "fn warn(ctx: &Context, m: &str) {}",
    );
    assert_eq!(
        message_prefixes(source),
        vec!["lint-dockerfile: configuration key", "could not remove service"]
    );
}

#[test]
fn every_user_visible_message_is_in_the_troubleshooting_guide() {
    let guide =
        std::fs::read_to_string(project_root().join("docs/troubleshooting.md")).unwrap_or_default();
    let mut missing = Vec::new();
    for path in rust_sources().into_iter().filter(|p| !p.to_string_lossy().contains("test")) {
        let source = std::fs::read_to_string(&path).unwrap();
        // Unit tests at the end of a file are not user-visible.
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for prefix in message_prefixes(code) {
            if !guide.contains(&prefix) {
                missing.push(format!("{}: {prefix}", relative(&path)));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "document these in docs/troubleshooting.md:\n{}",
        missing.join("\n")
    );
}

/// The first path segment of every `crate::` path in `source` (in `use` items,
/// `use crate::{a, b::c}` groups and inline paths), outside comments.
fn crate_imports(source: &str) -> Vec<String> {
    let code: Vec<&str> =
        source.lines().filter(|line| !line.trim_start().starts_with("//")).collect();
    let code = code.join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(index) = rest.find("crate::") {
        let inside_a_word = rest[..index].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        rest = &rest[index + "crate::".len()..];
        if inside_a_word {
            continue;
        }
        match rest.strip_prefix('{') {
            Some(group) => found.extend(group_heads(group)),
            None => found.extend(identifier(rest)),
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The first segment of each item of a `{a, b::c, d::{e, f}}` group (after its `{`).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut item_start = true;
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if c.is_whitespace() => {}
            _ if item_start && depth == 0 => {
                heads.extend(identifier(&group[index..]));
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

fn identifier(text: &str) -> Option<String> {
    let name: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// The top-level module a source file belongs to (`xtask/src/engine/exec.rs` → `engine`);
/// `None` for the crate roots.
fn top_module(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(project_root().join("xtask/src")).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Module dependencies that break the layering, each with the reason it stays
/// (none today: a new entry needs one).
const ALLOWED_IMPORTS: [(&str, &str, &str); 0] = [];

/// Modules outside lint, each with the modules it imports (file, module imported).
fn module_graph() -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let mut graph: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for path in rust_sources() {
        let Some(module) = top_module(&path) else { continue };
        let file = relative(&path);
        let source = std::fs::read_to_string(&path).unwrap();
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for imported in crate_imports(code) {
            let allowed = ALLOWED_IMPORTS
                .iter()
                .any(|(prefix, target, _)| file.starts_with(prefix) && imported == *target);
            if imported != module && !allowed {
                graph.entry(module.clone()).or_default().push((file.clone(), imported));
            }
        }
    }
    graph
}

/// The tasks of `cargo xtask`: each is a leaf of the module graph.
const TASK_MODULES: [&str; 6] =
    ["docker_build", "run_experiment", "shell", "healthcheck", "lint_dockerfile", "report"];

#[test]
fn the_import_scan_reads_groups_and_inline_paths() {
    let source = "use crate::{engine::{exec, Engine}, output};\n// crate::shell\n\
                  let x = crate::report::after(ctx);\nuse crate::error::usage;\n\
                  let y = xcrate::context;";
    assert_eq!(crate_imports(source), ["engine", "error", "output", "report"]);
}

#[test]
fn no_task_module_imports_another() {
    let mut offenders = Vec::new();
    for (module, imports) in module_graph() {
        for (file, imported) in imports {
            if TASK_MODULES.contains(&module.as_str()) && TASK_MODULES.contains(&imported.as_str())
            {
                offenders.push(format!("{file} imports the task {imported}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "move what tasks share below them (container/, image/, engine/):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_modules_outside_lint_have_no_import_cycle() {
    let graph = module_graph();
    let lint = ["lint_dockerfile"];
    let edges = |module: &str| -> Vec<String> {
        graph
            .get(module)
            .map(|imports| imports.iter().map(|(_, m)| m.clone()).collect())
            .unwrap_or_default()
    };
    // Depth-first search for a path from each module back to itself.
    for start in graph.keys().filter(|m| !lint.contains(&m.as_str())) {
        let mut stack = vec![vec![start.clone()]];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap().clone();
            for next in edges(&last).into_iter().filter(|m| !lint.contains(&m.as_str())) {
                let mut longer = path.clone();
                longer.push(next.clone());
                assert!(&next != start, "import cycle: {}", longer.join(" -> "));
                if seen.insert(next) {
                    stack.push(longer);
                }
            }
        }
    }
}
