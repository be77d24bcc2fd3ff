"""--parallel, Ctrl-C with several units, the model probe, every way to authenticate, and a
results directory on a full disk."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from scylla.claude import claude_availability, credentials_source
from scylla.stream_json import parse_stream

from .support import FIXTURE, SCRIPT, TempDirTestCase, strip_volatile

DATA = Path(__file__).resolve().parent / "data"
ALL_TIERS = ["T0", "T1", "T2", "T3", "T4", "T5", "T6"]


def alive(pid: int) -> bool:
    """True while pid runs (a zombie, already dead, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ParallelTest(TempDirTestCase):
    def test_parallel_results_equal_a_sequential_run(self):
        sequential = self.run_cli("--tiers", *ALL_TIERS, "--runs", "2", "--experiment-id", "seq")
        parallel = self.run_cli("--tiers", *ALL_TIERS, "--runs", "2", "--experiment-id", "par",
                                "--parallel", "4")
        self.assertEqual(sequential.returncode, 0, sequential.stderr)
        self.assertEqual(parallel.returncode, 0, parallel.stderr)
        units = sorted(p.parent.relative_to(self.results / "seq")
                       for p in (self.results / "seq").rglob("result.json"))
        self.assertEqual(len(units), 14)
        for unit in units:
            one = strip_volatile(json.loads((self.results / "seq" / unit / "result.json").read_text()))
            other = strip_volatile(json.loads((self.results / "par" / unit / "result.json").read_text()))
            one["experiment_id"] = other["experiment_id"] = None
            self.assertEqual(one, other, unit)
            self.assertNotIn("_stdout_full", json.dumps(one), "an internal field leaked")
        seq_summary = strip_volatile(self.summary("seq"))
        par_summary = strip_volatile(self.summary("par"))
        seq_summary["experiment_id"] = par_summary["experiment_id"] = None
        self.assertEqual(seq_summary, par_summary)
        # Every unit prints its own progress lines.
        for tier in ALL_TIERS:
            self.assertIn(f"[{tier}/run-2] score 1.000, grade S, PASS", parallel.stderr)

    def test_ctrl_c_stops_every_unit_and_a_rerun_resumes(self):
        self.install_fake_claude(mode="orphan")
        argv = [sys.executable, str(SCRIPT), "--results-dir", str(self.results), "--tiers-dir",
                str(FIXTURE), "--tiers", "T0", "--runs", "3", "--parallel", "3", "--no-probe"]
        # PYTHONFAULTHANDLER: a runner that hangs dumps its threads' stacks on SIGABRT.
        # A shell that starts these tests in the background ignores SIGINT, and the
        # child would inherit that: Ctrl-C must act as it does at a terminal.
        process = subprocess.Popen(argv, cwd=self.tmp, env={**self.env, "PYTHONFAULTHANDLER": "1"},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        orphans_file = self.tmp / "fake-claude-calls.jsonl.orphans"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
                not orphans_file.exists() or len(orphans_file.read_text().split()) < 3):
            time.sleep(0.1)
        agents = self.fake_claude_calls("agent")
        self.assertEqual(len(agents), 3, "three agents run at once")
        orphans = [int(pid) for pid in orphans_file.read_text().split()]
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            self.fail("the runner did not stop after Ctrl-C:\n" + process.communicate()[1])
        self.assertEqual(process.returncode, 130, stderr)
        self.assertIn("interrupted", stderr)
        for pid in [call["pid"] for call in agents] + orphans:
            self.assertFalse(alive(pid), f"process {pid} outlived Ctrl-C")
        self.assertEqual(list(self.results.rglob("result.json")), [])
        self.env["FAKE_CLAUDE_MODE"] = "ok"
        again = self.run_cli("--tiers", "T0", "--runs", "3", "--parallel", "3")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(len(list(self.results.rglob("result.json"))), 3)

    def test_a_timed_out_agent_takes_its_orphans_with_it(self):
        fixture = self.copy_fixture()
        self.write(fixture / "config.yaml", "timeout_seconds: 2\n")
        self.install_fake_claude(mode="orphan")
        completed = self.run_cli("--tiers-dir", str(fixture), "--tiers", "T0", "--judge",
                                 "commands")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        result = self.result("test-001-T0", "T0/run-1")
        self.assertTrue(result["timed_out"])
        self.assertEqual(result["exit_code"], 124)
        (orphan,) = [int(pid) for pid in
                     (self.tmp / "fake-claude-calls.jsonl.orphans").read_text().split()]
        self.assertFalse(alive(orphan), "the agent's background process outlived the timeout")


class ProbeTest(TempDirTestCase):
    def test_a_refused_key_stops_before_the_first_unit(self):
        self.install_fake_claude(mode="bad-key")
        started = time.monotonic()
        completed = self.run_cli("--tiers", "T0", "T1", "--runs", "3")
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertIn("the agent's model sonnet cannot be used: API error 401 "
                      "authentication_error: Invalid API key · Fix external API key",
                      completed.stderr)
        self.assertEqual(len(completed.stderr.strip().splitlines()[-1:]), 1)
        self.assertEqual(self.fake_claude_calls(), [], "no unit ran")
        (probe,) = self.fake_claude_calls("probe")
        self.assertEqual(probe["args"][:2], ["--model", "sonnet"])
        self.assertEqual(list(self.results.rglob("result.json")), [])

    def test_an_agent_retrying_a_refused_key_is_stopped_and_the_experiment_too(self):
        self.install_fake_claude(mode="retry-401")
        started = time.monotonic()
        completed = self.run_cli("--tiers", "T0", "--runs", "4", "--judge", "commands")
        self.assertLess(time.monotonic() - started, 60)
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertIn("error: stopped early: 2 units in a row", completed.stderr)
        for unit in ("T0/run-1", "T0/run-2"):
            result = self.result("test-001-T0", unit)
            self.assertTrue(result["error"].startswith(
                "agent: API error 401 authentication_failed: the CLI was still retrying"), result)
            self.assertEqual(result["claude_code"]["api_error_status"], 401)
        self.assertFalse((self.results / "test-001-T0" / "T0" / "run-3" / "result.json").exists())
        for call in self.fake_claude_calls("agent"):
            self.assertFalse(alive(call["pid"]))

    def test_probes_are_skipped_when_nothing_is_left_to_run(self):
        self.install_fake_claude()
        self.assertEqual(self.run_cli("--tiers", "T0").returncode, 0)
        self.assertEqual(len(self.fake_claude_calls("probe")), 2)  # agent and judge models
        self.env["FAKE_CLAUDE_MODE"] = "bad-key"
        self.assertEqual(self.run_cli("--tiers", "T0").returncode, 0)  # resumed: all kept
        self.assertEqual(len(self.fake_claude_calls("probe")), 2)


class AvailabilityTest(TempDirTestCase):
    def test_every_way_to_authenticate_counts(self):
        base = {"PATH": self.env["PATH"], "HOME": str(self.home)}
        self.assertIsNone(credentials_source(base))
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"):
            self.assertEqual(credentials_source({**base, name: "x"}), name)
            self.assertIsNone(credentials_source({**base, name: "  "}))
        self.write(self.home / ".claude" / ".credentials.json", "{}")
        self.assertEqual(credentials_source(base), "the credentials file")
        shutil.rmtree(self.home / ".claude")
        config = self.tmp / "config"
        self.write(config / ".credentials.json", "{}")
        self.assertEqual(credentials_source({**base, "CLAUDE_CONFIG_DIR": str(config)}),
                         "the credentials file")
        bedrock = {**base, "CLAUDE_CODE_USE_BEDROCK": "1"}
        self.assertIsNone(credentials_source({**bedrock, "ANTHROPIC_API_KEY": "x"}),
                          "Bedrock uses AWS credentials, not an Anthropic key")
        self.assertIn("Bedrock", credentials_source({**bedrock, "AWS_ACCESS_KEY_ID": "AKIA"}))
        self.assertIn("Bedrock", credentials_source({**bedrock, "AWS_PROFILE": "dev"}))
        vertex = {**base, "CLAUDE_CODE_USE_VERTEX": "1"}
        self.assertIsNone(credentials_source(vertex))
        self.assertIn("Vertex", credentials_source(
            {**vertex, "GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}))
        self.write(self.home / ".config" / "gcloud" / "application_default_credentials.json", "{}")
        self.assertIn("Vertex", credentials_source(vertex))
        self.assertIn("gateway", credentials_source(
            {**bedrock, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}))
        foundry = {**base, "CLAUDE_CODE_USE_FOUNDRY": "1"}
        self.assertIsNone(credentials_source(foundry))
        self.assertIn("Foundry", credentials_source({**foundry, "ANTHROPIC_FOUNDRY_API_KEY": "f"}))

    def test_no_cli_says_how_to_get_one_even_with_a_key(self):
        env = {**self.env, "ANTHROPIC_API_KEY": "sk-x"}
        self.assertIn("rebuild it with the CLI", claude_availability(env).remedy())
        completed = self.run_cli("--tiers", "T0", "--agent", "claude-code", env=env)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("the image has no Claude Code: rebuild it with the CLI", completed.stderr)
        self.assertNotIn("set ANTHROPIC_API_KEY", completed.stderr)


class RealStreamTest(unittest.TestCase):
    def test_provenance_from_claude_code_2_1_332(self):
        summary = parse_stream((DATA / "claude-2.1.332-stream.jsonl").read_text())
        record = summary.cli_record()
        self.assertEqual(record["version"], "2.1.332")
        self.assertEqual(record["model"], "claude-sonnet-5-5")
        self.assertEqual(record["num_turns"], 3)
        self.assertRegex(record["session_id"], r"^[0-9a-f-]{36}$")
        self.assertIsNone(summary.error_reason())
        self.assertEqual(summary.tokens.input, 6300)

    def test_the_cli_reason_of_a_refused_key(self):
        summary = parse_stream((DATA / "claude-2.1.332-401.json").read_text())
        self.assertEqual(summary.error_reason(), "API error 401 authentication_error: "
                                                 "Invalid API key · Fix external API key")


class DiskFullTest(TempDirTestCase):
    """results/ on a small tmpfs that fills up: one line, exit 1, no temp file, earlier results kept."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or shutil.which("mount") is None:
            self.skipTest("needs root to mount a tmpfs")
        self.results.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                                  str(self.results)], capture_output=True, text=True)
        if mounted.returncode != 0:
            if os.environ.get("SCYLLA_REQUIRE_ENGINE") == "1":
                self.fail(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
            self.skipTest(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", str(self.results)], check=False)

    def test_a_full_disk_is_one_line_and_keeps_earlier_results(self):
        first = self.run_cli("--tiers", "T0", "T1", "--experiment-id", "full-test")
        self.assertEqual(first.returncode, 0, first.stderr)
        kept = (self.results / "full-test" / "T0" / "run-1" / "result.json").read_bytes()
        descriptor = os.open(self.results / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(descriptor, b"\0" * 1024)
        except OSError:
            pass
        finally:
            os.close(descriptor)
        completed = self.run_cli("--tiers", "T0", "T1", "--runs", "3", "--experiment-id",
                                 "full-test")
        self.assertEqual(completed.returncode, 1, completed.stderr)
        errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
        self.assertEqual(len(errors), 1, completed.stderr)
        self.assertRegex(errors[0], r"^error: cannot write .*full-test/T0/run-2.*: "
                                    r"no space left on device$")
        self.assertNotIn("Traceback", completed.stderr)
        self.assertEqual([p for p in self.results.rglob("*.tmp")], [])
        self.assertEqual((self.results / "full-test" / "T0" / "run-1" / "result.json").read_bytes(),
                         kept)
