//! Inline pragmas, hadolint's form: `# hadolint ignore=DL3008,DL3015` silences those
//! codes on the next instruction; `# hadolint global ignore=DL3059` on the whole file.

use std::collections::{HashMap, HashSet};

use crate::dockerfile::Dockerfile;

use super::finding::Finding;

/// A parsed pragma comment.
#[derive(Debug, PartialEq, Eq)]
enum Pragma {
    Next(Vec<String>),
    Global(Vec<String>),
}

fn parse(text: &str) -> Option<Pragma> {
    let rest = text.strip_prefix("hadolint")?.trim_start();
    let (global, rest) = match rest.strip_prefix("global") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, rest),
    };
    let codes = rest.strip_prefix("ignore")?.trim_start().strip_prefix('=')?;
    let codes: Vec<String> = codes
        .split(',')
        .map(|c| c.split_whitespace().next().unwrap_or("").to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    Some(if global { Pragma::Global(codes) } else { Pragma::Next(codes) })
}

/// Drops the findings the file's pragmas silence.
pub(crate) fn apply(dockerfile: &Dockerfile, findings: &mut Vec<Finding>) {
    let mut global: HashSet<String> = HashSet::new();
    let mut scoped: HashMap<usize, Vec<String>> = HashMap::new();
    for comment in &dockerfile.comments {
        match parse(&comment.text) {
            Some(Pragma::Global(codes)) => global.extend(codes),
            Some(Pragma::Next(codes)) => {
                let instructions = &dockerfile.instructions;
                let next = instructions.partition_point(|i| i.line <= comment.line);
                if next < instructions.len() {
                    scoped.entry(next).or_default().extend(codes);
                }
            }
            None => {}
        }
    }
    findings.retain(|f| {
        let code = f.code.as_str();
        if global.contains(code) {
            return false;
        }
        let instructions = &dockerfile.instructions;
        let index = f.instruction.or_else(|| {
            let at = instructions.partition_point(|i| i.end_line < f.line);
            instructions.get(at).filter(|i| i.line <= f.line).map(|_| at)
        });
        let silenced = index.and_then(|i| scoped.get(&i));
        !silenced.is_some_and(|codes| codes.iter().any(|c| c == code))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragma_forms() {
        let codes = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse("hadolint ignore=DL3008,dl3015"),
            Some(Pragma::Next(codes(&["DL3008", "DL3015"])))
        );
        assert_eq!(
            parse("hadolint ignore = DL3008, SCY004 because"),
            Some(Pragma::Next(codes(&["DL3008", "SCY004"])))
        );
        assert_eq!(
            parse("hadolint global ignore=DL3059"),
            Some(Pragma::Global(codes(&["DL3059"])))
        );
        assert_eq!(parse("hadolint shell=bash"), None);
        assert_eq!(parse("just a comment"), None);
    }
}
