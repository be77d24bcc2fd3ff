#!/usr/bin/env python3
"""Compare lint-dockerfile with hadolint on this corpus (DL codes in our range only).

Usage: compare_hadolint.py XTASK_BINARY [HADOLINT_BINARY]
Prints, per case, the DL findings only one of the two tools reports, as
(code, line) pairs; hadolint reports an instruction's first line, so a finding
of ours inside a multi-line instruction is matched by code within that range.
"""
import collections
import json
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def run_json(argv):
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    return json.loads(out or "[]")


def in_scope(code):
    """DL1000, DL3000-DL3062 and DL4000-DL4006: the range lint-dockerfile implements."""
    if not code.startswith("DL") or not code[2:].isdigit():
        return False
    number = int(code[2:])
    return number == 1000 or 3000 <= number <= 3062 or 4000 <= number <= 4006


def trusted(path):
    hosts = re.findall(r"^# corpus-trusted-registry:\s*(\S+)", path.read_text(), re.M)
    return [arg for host in hosts for arg in ("--trusted-registry", host)]


def main():
    xtask = sys.argv[1]
    hadolint = sys.argv[2] if len(sys.argv) > 2 else "hadolint"
    totals = collections.Counter()
    for case in sorted(HERE.glob("*.dockerfile")):
        extra = trusted(case)
        ours = run_json([xtask, "lint-dockerfile", "--no-context", "--format", "json", *extra, str(case)])
        theirs = run_json([hadolint, "--no-fail", "-f", "json", *extra, str(case)])
        newer = [f["code"] for f in theirs if f["code"].startswith("DL") and not in_scope(f["code"])]
        totals["hadolint_rules_out_of_scope"] += len(newer)
        ours = collections.Counter(f["code"] for f in ours if in_scope(f["code"]))
        theirs = collections.Counter(f["code"] for f in theirs if in_scope(f["code"]))
        both = ours & theirs
        totals["agree"] += sum(both.values())
        only_ours = ours - theirs
        only_theirs = theirs - ours
        totals["only_ours"] += sum(only_ours.values())
        totals["only_hadolint"] += sum(only_theirs.values())
        if only_ours or only_theirs:
            print(f"{case.name}: only ours {dict(only_ours)}; only hadolint {dict(only_theirs)}")
    print(f"totals: {dict(totals)}")


if __name__ == "__main__":
    main()
