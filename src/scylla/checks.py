"""Helpers for rubric ``check_command`` lines: ``python -m scylla.checks ...``.

Check commands run in the workspace after the agent finished, with
``SCYLLA_BASELINE_MANIFEST`` naming a file that lists (one per line) the files
the workspace held before the agent started. Two helpers cover what a shell
one-liner states badly:

- ``new-files --max N``: at most N files were added (``.git/`` ignored);
- ``max-lines FILE N``: FILE has at most N non-blank lines.

Each prints what it found and exits 0 when the condition holds, 1 when not,
2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MANIFEST_ENV = "SCYLLA_BASELINE_MANIFEST"


def workspace_files(root: Path) -> list[str]:
    """Relative paths of the files under root, sorted, without ``.git/``."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(name for name in subdirs if name != ".git")
        for name in files:
            found.append((Path(directory) / name).relative_to(root).as_posix())
    return sorted(found)


def new_files(root: Path, manifest: Path) -> list[str]:
    baseline = set(manifest.read_text(encoding="utf-8").splitlines())
    return [path for path in workspace_files(root) if path not in baseline]


def non_blank_lines(path: Path) -> int:
    text = path.read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scylla.checks")
    commands = parser.add_subparsers(dest="command", required=True)
    added = commands.add_parser("new-files", help="at most N files were added")
    added.add_argument("--max", type=int, required=True)
    lines = commands.add_parser("max-lines", help="FILE has at most N non-blank lines")
    lines.add_argument("file", type=Path)
    lines.add_argument("limit", type=int)
    args = parser.parse_args(argv)

    if args.command == "new-files":
        manifest = os.environ.get(MANIFEST_ENV)
        if not manifest:
            print(f"{MANIFEST_ENV} is not set: run this as a rubric check", file=sys.stderr)
            return 2
        added_files = new_files(Path.cwd(), Path(manifest))
        print(f"{len(added_files)} new file(s): {', '.join(added_files) or '-'}")
        return 0 if len(added_files) <= args.max else 1
    if not args.file.is_file():
        print(f"{args.file}: no such file")
        return 1
    count = non_blank_lines(args.file)
    print(f"{args.file}: {count} non-blank line(s)")
    return 0 if count <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
