//! The repository checks itself: module docs, file sizes, the one process
//! chokepoint, pinned bases, and every user-visible message documented in
//! docs/troubleshooting.md.

mod support;

use std::path::{Path, PathBuf};

use support::project::project_root;

fn rust_sources() -> Vec<PathBuf> {
    walkdir::WalkDir::new(project_root().join("xtask/src"))
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
fn every_base_of_the_project_dockerfile_is_pinned() {
    let text = std::fs::read_to_string(project_root().join("docker/Dockerfile")).unwrap();
    let parsed = xtask::dockerfile::parse(&text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let mut externals = 0;
    for from in parsed.resolve_froms(&Default::default()) {
        if let xtask::dockerfile::Base::Image(image) = &from.base {
            externals += 1;
            assert!(image.is_pinned(), "line {}: {image} is not pinned by digest", from.line);
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
    let mut rest = source;
    while let Some(index) = rest.find("warn(") {
        rest = &rest[index + "warn(".len()..];
        // `fn warn(ctx: ...` is the definition, not a call.
        if source[..source.len() - rest.len()].ends_with("fn warn(") {
            continue;
        }
        if let Some(comma) = first_argument_end(rest) {
            found.extend(literal_prefix(&rest[comma + 1..]));
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
    let source = "output::warn(\n    &self.ctx,\n    &format!(\"could not remove service {name}\"),\n);\n\
                  eprintln!(\"lint-dockerfile: configuration key\");\nfn warn(ctx: &Context, m: &str) {}";
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
