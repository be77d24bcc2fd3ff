//! Arbitrary bytes (read as lossy UTF-8) through the Dockerfile parser, every
//! helper the build task calls on it, and the whole linter: none may panic or hang.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use xtask::dockerfile::{self, Base, ImageRef};
use xtask::lint_dockerfile::{lint, Options};

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
});
