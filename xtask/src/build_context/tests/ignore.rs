//! `.dockerignore` semantics as data: single patterns, whole files, and the three matching
//! forms the engine uses (reference, walk-with-parent, single-parent).

use crate::build_context::ignore::IgnoreRules;
use crate::build_context::pattern::Pattern;

fn pattern(text: &str) -> Pattern {
    Pattern::parse(text).unwrap().unwrap()
}

#[test]
fn single_patterns_match_like_the_engine() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool)] = &[
        // Root-anchored: not gitignore.
        ("*.md", "README.md", true),
        ("*.md", "docs/guide.md", false),
        ("foo", "foo", true),
        ("foo", "a/foo", false),
        ("*", "a", true),
        ("*", "a/b", false),
        // `**` spans directories, including none.
        ("**/*.md", "README.md", true),
        ("**/*.md", "docs/a/guide.md", true),
        ("**/foo", "foo", true),
        ("**/foo", "a/b/foo", true),
        ("**/foo", "afoo", false),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/xb", false),
        ("docs/**", "docs/a", true),
        ("docs/**", "docs/a/b", true),
        ("docs/**", "docs", false),
        ("**", "anything/at/all", true),
        // The engine's string shortcuts, quirks included.
        ("**.md", "deep/down/notes.md", true),
        ("**foo", "barfoo", true),
        ("foo**", "foobar", true),
        ("foo**", "foo/x", true),
        ("a**b", "ab", true),
        ("a**b", "ax/b", true),
        ("a**b", "axb", false),
        // Single-character and class wildcards.
        ("?.txt", "a.txt", true),
        ("?.txt", "ab.txt", false),
        ("a?b", "a/b", false),
        ("[a-c]*", "b1", true),
        ("[a-c]*", "d1", false),
        ("[^a]x", "bx", true),
        ("[^a]x", "ax", false),
        ("a[^x]b", "a/b", true),
        ("[!a]x", "!x", true),
        // Escapes and regex metacharacters are literal.
        ("\\*.txt", "*.txt", true),
        ("\\*.txt", "a.txt", false),
        ("a.b", "a.b", true),
        ("a.b", "axb", false),
        ("a+(b)|{c}$", "a+(b)|{c}$", true),
        ("a]b", "a]b", true),
        ("[\\]]x", "]x", true),
        // Spaces inside a pattern are kept.
        ("my file", "my file", true),
    ];
    for &(text, path, expected) in cases {
        assert_eq!(pattern(text).matches(path), expected, "pattern {text:?} on {path:?}");
    }
}

#[test]
fn patterns_are_cleaned_and_trimmed() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool)] = &[
        ("  build  ", "build", false),
        ("build/", "build", false),
        ("./build", "build", false),
        ("build//out", "build/out", false),
        ("a/./b/../c", "a/c", false),
        ("!keep/", "keep", true),
        ("! spaced", "spaced", true),
    ];
    for &(line, text, exclusion) in cases {
        let rules = IgnoreRules::parse(line).unwrap();
        let parsed = &rules.patterns()[0];
        assert_eq!((parsed.text(), parsed.is_exclusion()), (text, exclusion), "line {line:?}");
    }
    let rules = IgnoreRules::parse("/build\n/\n").unwrap();
    let texts: Vec<&str> = rules.patterns().iter().map(Pattern::text).collect();
    assert_eq!(texts, vec!["build", "/"]);
}

#[test]
fn unsupported_or_malformed_patterns_are_errors() {
    for text in ["!", "[", "[]", "a[b", "x\\", "a\\nb", "[*]", "[a?]", "[[:alpha:]]", "[z-a]"] {
        assert!(Pattern::parse(text).is_err(), "{text:?} should be rejected");
    }
    let error = IgnoreRules::parse("ok\n\n! \n").unwrap_err();
    assert!(error.to_string().contains("line 3"), "{error}");
}

#[test]
fn whole_files_follow_last_match_wins() {
    let file = "\u{feff}# comment line\n\
                #no-pattern-here\n\
                \n\
                *.md\n\
                !README.md\n\
                \t# indented: a pattern, not a comment\n\
                node_modules\r\n\
                docs\n\
                !docs/keep.md\n\
                secret\n\
                !secret\n\
                secret\n";
    let rules = IgnoreRules::parse(file).unwrap();
    #[rustfmt::skip]
    let cases: &[(&str, bool)] = &[
        ("README.md", false),
        ("CHANGES.md", true),
        ("docs/guide.md", true),
        ("src/notes.md", false),
        ("no-pattern-here", false),
        ("# indented: a pattern, not a comment", true),
        ("node_modules", true),
        ("node_modules/pkg/index.js", true),
        ("docs", true),
        ("docs/keep.md", false),
        ("docs/other.txt", true),
        ("secret", true),
        ("comment line", false),
    ];
    for &(path, excluded) in cases {
        assert_eq!(rules.is_excluded(path), excluded, "{path}");
    }
}

#[test]
fn directory_patterns_reach_everything_below() {
    let rules = IgnoreRules::parse("target\nfoo/*\n").unwrap();
    assert!(rules.is_excluded("target/debug/build/x"));
    assert!(rules.is_excluded("foo/a"));
    assert!(rules.is_excluded("foo/a/b"));
    assert!(!rules.is_excluded("foo"));
    assert!(!rules.is_excluded("src/target"));
}

#[test]
fn the_walk_form_can_differ_from_the_reference_form() {
    // `!a` is skipped while checking `a` (nothing excluded it yet), so the walk form does not
    // remember that `a` matches it; the reference form re-checks every parent.
    let rules = IgnoreRules::parse("a/*\n!a\n").unwrap();
    assert!(!rules.is_excluded("a/f"));
    let (dir_excluded, dir_matches) = rules.is_excluded_below("a", None);
    assert!(!dir_excluded);
    let (file_excluded, _) = rules.is_excluded_below("a/f", Some(&dir_matches));
    assert!(file_excluded);
}

#[test]
fn the_walk_form_inherits_parent_matches() {
    let rules = IgnoreRules::parse("build\n!build/keep\n").unwrap();
    let (excluded, build) = rules.is_excluded_below("build", None);
    assert!(excluded);
    let (excluded, keep) = rules.is_excluded_below("build/keep", Some(&build));
    assert!(!excluded);
    let (excluded, _) = rules.is_excluded_below("build/keep/x", Some(&keep));
    assert!(!excluded);
    let (excluded, _) = rules.is_excluded_below("build/other", Some(&build));
    assert!(excluded);
}

#[test]
fn the_single_parent_form_only_looks_one_prefix_deep() {
    let rules = IgnoreRules::parse("**/c\n").unwrap();
    assert!(rules.is_excluded("a/b/c/Dockerfile"));
    assert!(!rules.is_excluded_shallow("a/b/c/Dockerfile"));
    let rules = IgnoreRules::parse("docker\n").unwrap();
    assert!(rules.is_excluded_shallow("docker/Dockerfile"));
    assert!(!rules.is_excluded_shallow("."));
}

#[test]
fn excluded_directories_are_entered_only_for_textual_exceptions() {
    let rules = IgnoreRules::parse("a\n!a/b/f\n!a/*/g\n").unwrap();
    assert!(rules.may_reinclude_under("a"));
    assert!(rules.may_reinclude_under("a/b"));
    assert!(!rules.may_reinclude_under("a/c"));
    assert!(!rules.may_reinclude_under("ab"));
    let plain = IgnoreRules::parse("a\n").unwrap();
    assert!(!plain.may_reinclude_under("a"));
}

#[test]
fn appended_exceptions_reinclude_one_path() {
    let rules = IgnoreRules::parse("*\n").unwrap().with_exception("docker/Dockerfile").unwrap();
    assert!(!rules.is_excluded("docker/Dockerfile"));
    assert!(rules.is_excluded("docker/other"));
}
