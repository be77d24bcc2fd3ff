//! Runs every case of `tests/lint-corpus/` through the linter and checks that the
//! findings are exactly the ones its `# expect: CODE, ...` comments announce, each
//! on the instruction that follows the comment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xtask::dockerfile;
use xtask::lint_dockerfile::{lint, LabelType, Options};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/lint-corpus")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "dockerfile"))
        .collect();
    cases.sort();
    cases
}

/// (instruction line, code) pairs a case expects, and its options.
fn expectations(src: &str) -> (Vec<(usize, String)>, Options) {
    let parsed = dockerfile::parse(src);
    let mut options = Options::default();
    let mut expected = Vec::new();
    for comment in &parsed.comments {
        if let Some(host) = comment.text.strip_prefix("corpus-trusted-registry:") {
            options.trusted_registries.push(host.trim().to_string());
        }
        if let Some(schema) = comment.text.strip_prefix("corpus-label-schema:") {
            for entry in schema.split_whitespace() {
                let (name, kind) = entry.split_once('=').expect("label=type");
                let kind = LabelType::parse(kind).expect("a label type");
                options.label_schema.push((name.to_string(), kind));
            }
        }
        options.strict_labels |= comment.text == "corpus-strict-labels";
        let Some(codes) = comment.text.strip_prefix("expect:") else { continue };
        let next = parsed.instructions.iter().find(|i| i.line > comment.line);
        let line = next.map_or(0, |i| i.line);
        expected.extend(codes.split(',').map(|c| (line, c.trim().to_string())));
    }
    expected.sort();
    (expected, options)
}

#[test]
fn corpus_findings_match_expectations() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut failures = BTreeMap::new();
    for case in &cases {
        let src = std::fs::read_to_string(case).expect("a readable case");
        let (expected, options) = expectations(&src);
        let parsed = dockerfile::parse(&src);
        let mut found: Vec<(usize, String)> = lint(&src, &options)
            .into_iter()
            .map(|f| {
                let instruction = f.instruction.and_then(|i| parsed.instructions.get(i));
                (instruction.map_or(f.line, |i| i.line), f.code.to_string())
            })
            .collect();
        found.sort();
        if found != expected {
            let name =
                case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            failures.insert(name, format!("expected {expected:?}\n   found {found:?}"));
        }
    }
    let report: Vec<String> = failures.iter().map(|(k, v)| format!("{k}:\n   {v}")).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        report.join("\n")
    );
}

#[test]
fn every_rule_is_exercised_by_the_corpus() {
    let mut seen = std::collections::BTreeSet::new();
    for case in cases() {
        let src = std::fs::read_to_string(&case).expect("a readable case");
        seen.extend(expectations(&src).0.into_iter().map(|(_, code)| code));
    }
    let missing: Vec<&str> = xtask::lint_dockerfile::RULES
        .iter()
        .filter(|r| r.default.is_some() && r.code != "SCY008" && !seen.contains(r.code))
        .map(|r| r.code)
        .collect();
    assert_eq!(missing, Vec::<&str>::new(), "rules without a positive corpus case");
}
