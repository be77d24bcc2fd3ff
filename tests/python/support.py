"""Helpers shared by the tests: temporary fixtures, a clean environment, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "run_e2e_experiment.py"
FIXTURE = REPO / "tests" / "fixtures" / "tests" / "test-001"
STREAM_SAMPLE = Path(__file__).resolve().parent / "data" / "claude-stream-sample.jsonl"

# Fields that legitimately differ between two runs of the same experiment.
VOLATILE_FIELDS = {
    "started_at", "finished_at", "generated_at", "node", "agent_duration_s",
    "judge_duration_s", "total_duration_s", "duration_s",
}


def path_without_claude() -> str:
    """The host PATH minus any directory that holds a `claude` executable."""
    kept = []
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if directory and not os.access(os.path.join(directory, "claude"), os.X_OK):
            kept.append(directory)
    return os.pathsep.join(kept)


class TempDirTestCase(unittest.TestCase):
    """A test with its own temporary directory, a HOME without credentials and a clean env."""

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="scylla-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.results = self.tmp / "results"
        self.env = {
            "PATH": path_without_claude(),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "SCYLLA_NODE": "test-node",
        }
        # PyYAML may live on PYTHONPATH (the image puts its dependencies there).
        if os.environ.get("PYTHONPATH"):
            self.env["PYTHONPATH"] = os.environ["PYTHONPATH"]

    def copy_fixture(self, name: str = "fixture") -> Path:
        target = self.tmp / name
        shutil.copytree(FIXTURE, target)
        return target

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def run_cli(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        argv = [sys.executable, str(SCRIPT), "--results-dir", str(self.results), *args]
        if "--tiers-dir" not in args:
            argv += ["--tiers-dir", str(FIXTURE)]
        return subprocess.run(
            argv, cwd=self.tmp, env=env or self.env, capture_output=True, text=True, timeout=300
        )

    def result(self, experiment: str, unit: str) -> dict:
        return json.loads((self.results / experiment / unit / "result.json").read_text())

    def summary(self, experiment: str) -> dict:
        return json.loads((self.results / experiment / "summary.json").read_text())

    def install_fake_claude(self, mode: str = "ok", credentials: bool = True) -> Path:
        """Put a stand-in `claude` first on PATH (see fake_claude.py) and log in."""
        bin_dir = self.tmp / "fake-bin"
        bin_dir.mkdir(exist_ok=True)
        fake = bin_dir / "claude"
        source = (Path(__file__).resolve().parent / "fake_claude.py").read_text()
        fake.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
        fake.chmod(0o755)
        self.env["PATH"] = os.pathsep.join([str(bin_dir), self.env["PATH"]])
        self.env["FAKE_CLAUDE_MODE"] = mode
        self.env["FAKE_CLAUDE_LOG"] = str(self.tmp / "fake-claude-calls.jsonl")
        self.env["FAKE_CLAUDE_STREAM"] = str(STREAM_SAMPLE)
        if credentials:
            claude_dir = self.home / ".claude"
            claude_dir.mkdir(mode=0o700, exist_ok=True)
            (claude_dir / ".credentials.json").write_text('{"fake": true}')
        return fake

    def fake_claude_calls(self, role: str | None = None) -> list[dict]:
        """The stand-in's calls, without the model probes unless role="probe" asks for them."""
        path = self.tmp / "fake-claude-calls.jsonl"
        if not path.exists():
            return []
        calls = [json.loads(line) for line in path.read_text().splitlines()]
        if role is None:
            return [call for call in calls if call["role"] != "probe"]
        return [call for call in calls if call["role"] == role]


def strip_volatile(value):
    """The value without timings, node names and absolute temp paths' timings."""
    if isinstance(value, dict):
        return {key: strip_volatile(item) for key, item in value.items() if key not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [strip_volatile(item) for item in value]
    return value
