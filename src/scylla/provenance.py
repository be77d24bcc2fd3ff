"""Where a result came from: image, sources, fixture, commit, node.

Read from the environment (passed in by ``cargo xtask run-experiment``):
``SCYLLA_IMAGE_ID`` (the image the container runs), ``SCYLLA_SOURCE_HASH``
(the hash of the sources the image was built from) and ``SCYLLA_NODE`` (the
machine's name in results; the hostname when unset).
"""

from __future__ import annotations

import platform
import shutil
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping

from . import __version__


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def node_name(env: Mapping[str, str]) -> str:
    return env.get("SCYLLA_NODE", "").strip() or socket.gethostname()


def git_state(directory: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository holding directory; (None, None) without one.

    git may be missing, the directory may not be in a repository, and a mounted
    tree owned by another uid makes git refuse it ("dubious ownership"); the
    command-line safe.directory setting accepts that one case only.
    """
    git = shutil.which("git")
    if git is None:
        return None, None
    base = [git, "-c", "safe.directory=*", "-C", str(directory)]
    try:
        head = subprocess.run(
            base + ["rev-parse", "--verify", "HEAD"],
            capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
        )
        if head.returncode != 0:
            return None, None
        status = subprocess.run(
            base + ["status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return head.stdout.strip() or None, dirty


def provenance(env: Mapping[str, str], fixture_id: str, fixture_root: Path,
               git: tuple[str | None, bool | None]) -> dict:
    return {
        "image_id": env.get("SCYLLA_IMAGE_ID") or None,
        "source_hash": env.get("SCYLLA_SOURCE_HASH") or None,
        "fixture_id": fixture_id,
        "fixture_path": str(fixture_root),
        "git_commit": git[0],
        "git_dirty": git[1],
        "scylla_version": __version__,
        "scylla_path": str(Path(__file__).resolve().parent),
        "python_version": platform.python_version(),
    }
