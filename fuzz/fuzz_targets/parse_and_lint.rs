//! Arbitrary bytes (read as lossy UTF-8) through the Dockerfile parser, every
//! helper the build task calls on it, and the whole linter, ShellCheck's batch and
//! mapping included (a stand-in answers for the program with one comment per script
//! at a position taken from the input): none may panic or hang.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use xtask::dockerfile::{self, Base, ImageRef};
use xtask::lint_dockerfile::shellcheck::{Batch, ShellFinding};
use xtask::lint_dockerfile::{lint, lint_all, Input, Options};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = dockerfile::parse(&text);
    let overrides = BTreeMap::from([("TAG".to_string(), "1.0".to_string())]);
    for resolved in
        parsed.resolve_froms(&BTreeMap::new()).into_iter().chain(parsed.resolve_froms(&overrides))
    {
        if let Base::Image(image) = resolved.base {
            let rendered = image.to_string();
            let again = ImageRef::parse(&rendered).expect("a rendered reference parses again");
            assert_eq!(again, image);
        }
    }
    for copy in parsed.copies() {
        let _ = (copy.sources.len(), copy.destination.len());
    }
    if let Some(stage) = parsed.final_stage() {
        let _ = parsed.stage_instructions(stage).len();
    }
    let _ = ImageRef::parse(&text);
    let _ = lint(&text, &Options::default());
    let column = data.first().copied().unwrap_or(0) as usize;
    let mut answer = |batch: &Batch| -> Vec<Vec<ShellFinding>> {
        batch
            .scripts
            .iter()
            .map(|script| {
                let line = script.header_lines + 1 + (column % 3);
                let message = "stand-in".to_string();
                vec![ShellFinding { code: 2086, level: "info".into(), message, line, column }]
            })
            .collect()
    };
    let input = Input { source: &text, context: None };
    let _ = lint_all(&[input], &Options::default(), Some(&mut answer));
});
