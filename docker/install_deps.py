"""Install the third-party dependencies of pyproject.toml into a target directory.

Runs in the image's builder stage, before the package source is copied, so that
this layer stays cached while only the source changes.

A requirement that the base image already satisfies is not installed again: the
offline test bases carry Debian's PyYAML, so their builds need no package index.
Anything missing is installed with pip into --target. Unknown --extras groups are
an error (exit 2) that names the groups that exist.
"""

import argparse
import importlib.metadata
import os
import re
import subprocess
import sys

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def load_pyproject(path):
    try:
        import tomllib
    except ImportError:  # Python 3.10 bases
        sys.exit("install_deps: the builder base needs Python 3.11+ (tomllib) to read pyproject.toml")
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:4])


def satisfied(specifiers, installed):
    """True if `installed` meets every comparison in `specifiers` (>=, ==, <, <=, !=)."""
    have = version_tuple(installed)
    for spec in filter(None, (s.strip() for s in specifiers.split(","))):
        match = re.match(r"(>=|<=|==|!=|<|>|~=)\s*(\S+)", spec)
        if not match:
            return False
        op, wanted = match.group(1), version_tuple(match.group(2))
        checks = {
            ">=": have >= wanted, "<=": have <= wanted, ">": have > wanted, "<": have < wanted,
            "==": have[: len(wanted)] == wanted, "!=": have[: len(wanted)] != wanted,
            "~=": have >= wanted and have[: len(wanted) - 1] == wanted[:-1],
        }
        if not checks[op]:
            return False
    return True


def missing_requirements(requirements):
    missing = []
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        if not match:
            sys.exit(f"install_deps: cannot read the requirement {requirement!r}")
        name, specifiers = match.group(1), match.group(3)
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
            continue
        if satisfied(specifiers, installed):
            print(f"install_deps: {name} {installed} from the base satisfies {requirement!r}")
        else:
            missing.append(requirement)
    return missing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", required=True)
    parser.add_argument("--extras", default="", help="comma-separated optional-dependency groups")
    parser.add_argument("--target", required=True)
    args = parser.parse_args()

    project = load_pyproject(args.pyproject).get("project", {})
    groups = project.get("optional-dependencies", {})
    requirements = list(project.get("dependencies", []))
    for extra in filter(None, (e.strip() for e in args.extras.split(","))):
        if extra not in groups:
            known = ", ".join(sorted(groups)) or "none"
            print(f"install_deps: unknown extras group {extra!r} (groups: {known})", file=sys.stderr)
            return 2
        requirements.extend(groups[extra])

    os.makedirs(args.target, exist_ok=True)
    missing = missing_requirements(requirements)
    if not missing:
        print("install_deps: nothing to install")
        return 0
    command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", args.target, *missing]
    print("install_deps: " + " ".join(command))
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
