#!/usr/bin/env python3
"""Compare lint-dockerfile with hadolint on this corpus.

Usage: compare_hadolint.py XTASK_BINARY [HADOLINT_BINARY]

Each case is linted by both tools with the same configuration file, written from the
case's `# corpus-...` comments (trusted registries, label schema, strict labels). The
findings compared are (code, line) pairs: hadolint's DL and SC codes against ours,
where both report the instruction's first line. SCY codes (ours only) and DL3057 (off
by default in both) are left out. Prints each case where the tools differ, then the
totals, precision, recall and F1 taking hadolint as the reference, with and without
lines. ShellCheck must be installed for the SC codes to be compared.
"""
import collections
import json
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def run_json(argv):
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    return json.loads(out or "[]")


def in_scope(code):
    return bool(re.fullmatch(r"(DL|SC)\d+", code)) and code != "DL3057"


def config_for(text):
    """The .hadolint.yaml a case asks for through its `# corpus-...` comments."""
    lines = []
    hosts = re.findall(r"^# corpus-trusted-registry:\s*(\S+)", text, re.M)
    if hosts:
        lines.append("trustedRegistries:")
        lines.extend(f"  - {host}" for host in hosts)
    schema = re.findall(r"^# corpus-label-schema:(.*)$", text, re.M)
    entries = [entry.split("=", 1) for part in schema for entry in part.split()]
    if entries:
        lines.append("label-schema:")
        lines.extend(f'  "{name}": {kind}' for name, kind in entries)
    if re.search(r"^# corpus-strict-labels\s*$", text, re.M):
        lines.append("strict-labels: true")
    return "\n".join(lines) + "\n"


def f1(agree, only_ours, only_theirs):
    precision = agree / (agree + only_ours) if agree + only_ours else 1.0
    recall = agree / (agree + only_theirs) if agree + only_theirs else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def main():
    xtask = sys.argv[1]
    hadolint = sys.argv[2] if len(sys.argv) > 2 else "hadolint"
    totals = collections.Counter()
    by_code = collections.Counter()
    with tempfile.TemporaryDirectory() as scratch:
        config = pathlib.Path(scratch) / "hadolint.yaml"
        for case in sorted(HERE.glob("*.dockerfile")):
            config.write_text(config_for(case.read_text()))
            ours = run_json([xtask, "lint-dockerfile", "--no-context", "--format", "json",
                             "--config", str(config), str(case)])
            theirs = run_json([hadolint, "--no-fail", "-f", "json", "-c", str(config), str(case)])
            ours = collections.Counter((f["code"], f["line"]) for f in ours if in_scope(f["code"]))
            theirs = collections.Counter((f["code"], f["line"]) for f in theirs if in_scope(f["code"]))
            for name, a, b in [("", ours, theirs),
                               ("codes_", collections.Counter(c for c, _ in ours.elements()),
                                collections.Counter(c for c, _ in theirs.elements()))]:
                totals[name + "agree"] += sum((a & b).values())
                totals[name + "only_ours"] += sum((a - b).values())
                totals[name + "only_hadolint"] += sum((b - a).values())
            only_ours, only_theirs = ours - theirs, theirs - ours
            for code, _ in (only_ours + only_theirs).elements():
                by_code[code] += 1
            if only_ours or only_theirs:
                print(f"{case.name}: only ours {sorted(only_ours.elements())}; "
                      f"only hadolint {sorted(only_theirs.elements())}")
    print(f"totals: {dict(totals)}")
    print(f"differences by code: {dict(sorted(by_code.items()))}")
    for label, prefix in [("code and line", ""), ("code only (per file)", "codes_")]:
        p, r, score = f1(totals[prefix + "agree"], totals[prefix + "only_ours"],
                         totals[prefix + "only_hadolint"])
        print(f"{label}: precision {p:.2f}, recall {r:.2f}, F1 {score:.2f}")


if __name__ == "__main__":
    main()
