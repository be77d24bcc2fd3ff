//! The label schema rules (`DL3049`-`DL3056`, `DL3058`): with `label-schema:` in the
//! configuration, every stage image carries each schema label, with a value of its
//! type; with `strict-labels: true`, no other label. Without a schema they are quiet.
//!
//! The value checks follow the formats' specifications as hadolint applies them
//! (checked against hadolint 2.15.1 on the corpus): RFC 3986 absolute URIs, RFC 3339
//! times, single SPDX license identifiers that are not deprecated, 7- or 40-digit
//! lowercase git hashes, semantic versions, RFC 5322 addresses.

use crate::dockerfile::{Base, Position};

use super::super::facts::Facts;
use super::super::finding::LabelType;
use super::super::findings::Findings;

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    if facts.options.label_schema.is_empty() {
        return;
    }
    missing_labels(facts, out);
    for (index, instruction) in facts.dockerfile.instructions.iter().enumerate() {
        if instruction.keyword == "LABEL" {
            label_values(facts, out, index, &instruction.key_values());
        }
    }
}

fn label_values(
    facts: &Facts<'_>,
    out: &mut Findings<'_>,
    index: usize,
    pairs: &[(String, Option<String>, Position)],
) {
    let schema = &facts.options.label_schema;
    if facts.options.strict_labels {
        if let Some((key, _, at)) =
            pairs.iter().find(|(k, _, _)| !schema.iter().any(|(s, _)| s == k))
        {
            let message = format!("label {key} is not in the label schema, and labels are strict");
            out.report("DL3050", Some(index), *at, message);
        }
    }
    for (label, kind) in schema {
        let values = pairs.iter().filter(|(k, _, _)| k == label);
        let values: Vec<(&str, Position)> =
            values.map(|(_, v, at)| (v.as_deref().unwrap_or(""), *at)).collect();
        if let Some((_, at)) = values.iter().find(|(v, _)| v.is_empty()) {
            out.report("DL3051", Some(index), *at, format!("label {label} has an empty value"));
        }
        let (code, valid, what): (&'static str, fn(&str) -> bool, &str) = match kind {
            LabelType::Text => continue,
            LabelType::Url => ("DL3052", is_uri, "an absolute URL"),
            LabelType::Rfc3339 => ("DL3053", is_rfc3339, "an RFC 3339 time (2024-05-01T12:00:00Z)"),
            LabelType::Spdx => {
                ("DL3054", is_spdx_id, "an SPDX license identifier (MIT, Apache-2.0)")
            }
            LabelType::Hash => ("DL3055", is_git_hash, "a 7- or 40-digit lowercase git hash"),
            LabelType::Semver => ("DL3056", is_semver, "a semantic version (1.2.3)"),
            LabelType::Email => ("DL3058", is_email, "an email address"),
        };
        if let Some((value, at)) = values.iter().find(|(v, _)| !valid(v)) {
            let message = format!("label {label}={value:?} is not {what}");
            out.report(code, Some(index), *at, message);
        }
    }
}

/// DL3049: each stage lacking a schema label, unless another stage inherits it or
/// only copies files out of it (a build stage is not an image anyone runs).
fn missing_labels(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    for (label, _) in &facts.options.label_schema {
        let mut has = vec![false; d.stages.len()];
        for stage in &d.stages {
            let parent = match facts.resolved.get(stage.index).map(|r| &r.base) {
                Some(Base::Stage(parent)) => has.get(*parent).copied().unwrap_or(false),
                _ => false,
            };
            let own = d
                .stage_instructions(stage)
                .iter()
                .any(|i| i.keyword == "LABEL" && i.key_values().iter().any(|(k, _, _)| k == label));
            has[stage.index] = parent || own;
        }
        for stage in d.stages.iter().filter(|s| !has[s.index]) {
            let copied_from = stage.name.as_deref().is_some_and(|name| {
                facts.copies.iter().any(|c| {
                    c.instruction_index >= stage.end_index
                        && c.from.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(name))
                })
            });
            if !copied_from {
                let message =
                    format!("this stage has no label {label}, which the label schema requires");
                out.report_at("DL3049", stage.instruction_index, message);
            }
        }
    }
}

/// An absolute URI (RFC 3986): a scheme, `:`, then URI characters and valid
/// percent escapes, with at most one `#`.
pub(crate) fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let bytes = rest.as_bytes();
    let escapes_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%' || bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    let chars_ok =
        rest.chars().all(|c| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c));
    scheme_ok && escapes_ok && chars_ok && rest.matches('#').count() <= 1
}

fn digits(text: &str, count: usize) -> Option<u32> {
    (text.len() == count && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// An RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, a real date.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let Some((date, time)) = text.split_once(['T', 't']) else { return false };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => return false,
    };
    let offset_ok = match offset {
        "Z" | "z" => true,
        _ => {
            let hours_minutes = offset[1..].replace(':', "");
            let (h, m) = hours_minutes.split_at(hours_minutes.len().min(2));
            digits(h, 2).is_some_and(|h| h < 24) && digits(m, 2).is_some_and(|m| m < 60)
        }
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut fields = hms.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    let clock_ok = digits(h, 2).is_some_and(|h| h < 24)
        && digits(m, 2).is_some_and(|m| m < 60)
        && digits(s, 2).is_some_and(|s| s <= 60)
        && fraction.bytes().all(|b| b.is_ascii_digit());
    offset_ok && clock_ok
}

/// One SPDX license identifier of the list, not deprecated, without `+`.
pub(crate) fn is_spdx_id(text: &str) -> bool {
    let text = text.trim();
    !text.ends_with('+') && spdx::license_id(text).is_some_and(|id| !id.is_deprecated())
}

/// A short (7) or full (40) lowercase hexadecimal commit hash.
pub(crate) fn is_git_hash(text: &str) -> bool {
    matches!(text.len(), 7 | 40)
        && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `MAJOR.MINOR.PATCH`, then optional `-pre.release` and `+build` parts made of
/// dot-separated alphanumeric (and `-`) identifiers.
pub(crate) fn is_semver(text: &str) -> bool {
    let (version, build) = text.split_once('+').unwrap_or((text, ""));
    let (core, pre) = version.split_once('-').unwrap_or((version, ""));
    let numbers: Vec<&str> = core.split('.').collect();
    let identifiers_ok = |part: &str| {
        part.is_empty()
            || part.split('.').all(|id| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    numbers.len() == 3
        && numbers.iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && identifiers_ok(pre)
        && identifiers_ok(build)
}

/// An RFC 5322 address: a dot-atom or quoted local part, `@`, and a host name or an
/// address literal in brackets.
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok = if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        local[1..local.len() - 1].chars().all(|c| c.is_ascii() && c != '"' && c != '\\' || c == ' ')
    } else {
        !local.is_empty()
            && local.split('.').all(|part| !part.is_empty() && part.chars().all(atext))
    };
    let domain_ok = if domain.starts_with('[') && domain.ends_with(']') {
        domain.len() > 2
    } else {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_formats() {
        for (check, good, bad) in [
            (
                is_uri as fn(&str) -> bool,
                &["https://example.org/a?b=c#d", "ftp://x", "mailto:x", "x:", "http://[::1]/"][..],
                &["foo", "http://a b", "1http://x", "http://x/#a#b", "http://a/%zz"][..],
            ),
            (
                is_rfc3339,
                &["2020-01-01T10:00:00Z", "2020-01-01t10:00:00.5+01:00", "2024-02-29T23:59:60Z"],
                &[
                    "2020-01-01",
                    "2020-01-01 10:00:00Z",
                    "2020-02-30T10:00:00Z",
                    "2020-01-01T10:00:00",
                ],
            ),
            (
                is_spdx_id,
                &["MIT", "Apache-2.0", "GPL-2.0-only"],
                &["mit", "GPL-2.0", "GPL-2.0+", "LicenseRef-x"],
            ),
            (
                is_git_hash,
                &["abcdef1", "0123456789012345678901234567890123456789"],
                &["ABCDEF1", "abcdef"],
            ),
            (is_semver, &["1.0.0", "1.0.0-rc.1+b.5", "01.0.0"], &["v1.0.0", "1.0", "1.0.0-a..b"]),
            (
                is_email,
                &["a@b.c", "a+b@c", "\"a b\"@x.org", "a.b@[1.2.3.4]", "a@b.c."],
                &["x", "a b@c.d", ".a@b.c", "a..b@c.d", "a@-b.c", "a@b_c.d"],
            ),
        ] {
            for value in good {
                assert!(check(value), "{value:?} should pass");
            }
            for value in bad {
                assert!(!check(value), "{value:?} should fail");
            }
        }
    }
}
