"""A unit that runs again keeps its earlier result until the new one is written."""

import json
import signal
import subprocess
import sys
import time
import unittest

from scylla import rundir

from .support import FIXTURE, SCRIPT, TempDirTestCase

EXPERIMENT = "test-001-T0"


class InterruptedFreshRunTest(TempDirTestCase):
    def start_interrupted(self, *args: str) -> subprocess.CompletedProcess:
        """Run the CLI until its agent is running, then Ctrl-C it."""
        argv = [sys.executable, str(SCRIPT), "--results-dir", str(self.results), "--tiers-dir",
                str(FIXTURE), *args]
        agents_before = len(self.fake_claude_calls("agent"))
        # A shell that starts these tests in the background ignores SIGINT: undo that.
        process = subprocess.Popen(argv, cwd=self.tmp, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(self.fake_claude_calls("agent")) == agents_before:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            self.fail("the runner did not stop after Ctrl-C:\n" + process.communicate()[1])
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)

    def test_ctrl_c_during_fresh_keeps_the_completed_result_the_summary_lists(self):
        self.install_fake_claude()
        first = self.run_cli("--tiers", "T0")
        self.assertEqual(first.returncode, 0, first.stderr)
        run_1 = self.results / EXPERIMENT / "T0" / "run-1"
        kept = {path.name: path.read_bytes() for path in run_1.iterdir()}
        summary_before = (self.results / EXPERIMENT / "summary.json").read_bytes()

        self.env["FAKE_CLAUDE_MODE"] = "hang"
        stopped = self.start_interrupted("--tiers", "T0", "--runs", "3", "--fresh")
        self.assertEqual(stopped.returncode, 130, stopped.stderr)
        self.assertIn("interrupted", stopped.stderr)
        self.assertEqual({path.name: path.read_bytes() for path in run_1.iterdir()}, kept,
                         "the abandoned unit's earlier run directory is back, unchanged")
        self.assertEqual(sorted(path.name for path in run_1.parent.iterdir()), ["run-1"])
        summary = self.summary(EXPERIMENT)
        self.assertEqual((self.results / EXPERIMENT / "summary.json").read_bytes(), summary_before)
        for row in summary["runs"]:
            self.assertTrue((self.results / EXPERIMENT / row["unit"] / "result.json").is_file(),
                            f"the summary lists {row['unit']}, which is gone")

        # The earlier result is complete, so a run without --fresh keeps it.
        self.env["FAKE_CLAUDE_MODE"] = "ok"
        again = self.run_cli("--tiers", "T0", "--runs", "3")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("[T0/run-1] already completed", again.stderr)
        self.assertEqual((run_1 / "result.json").read_bytes(), kept["result.json"])

    def test_a_fresh_run_that_finishes_replaces_the_whole_directory(self):
        self.assertEqual(self.run_cli("--tiers", "T0").returncode, 0)
        run_1 = self.results / EXPERIMENT / "T0" / "run-1"
        (run_1 / "stale-marker").write_text("from the first run")
        fresh = self.run_cli("--tiers", "T0", "--fresh")
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertEqual(json.loads((run_1 / "result.json").read_text())["status"], "completed")
        self.assertFalse((run_1 / "stale-marker").exists())
        self.assertEqual(sorted(path.name for path in run_1.parent.iterdir()), ["run-1"])


class RecoverTest(TempDirTestCase):
    """What a runner killed (SIGKILL) between two renames leaves, and how the next run reads it."""

    def setUp(self):
        super().setUp()
        self.run_dir = self.tmp / "T0" / "run-1"
        self.previous = rundir.previous_dir(self.run_dir)

    def make(self, directory, result=None, **files):
        directory.mkdir(parents=True, exist_ok=True)
        if result is not None:
            (directory / result).write_text('{"score": 1.0}')
        for name, text in files.items():
            (directory / name).write_text(text)

    def listing(self):
        return {path.relative_to(self.tmp).as_posix() for path in self.tmp.rglob("*")
                if path.is_file() and "home" not in path.parts}

    def test_set_aside_and_put_back_round_trip(self):
        self.make(self.run_dir, "result.json", **{"agent.log": "old"})
        previous = rundir.set_aside(self.run_dir)
        self.assertEqual(previous, self.previous)
        self.assertFalse(self.run_dir.exists())
        self.assertEqual(list(self.tmp.rglob("result.json")), [], "no reader sees it as a run")
        self.make(self.run_dir, **{"agent.log": "new, abandoned"})
        rundir.put_back(self.run_dir, previous)
        self.assertEqual(self.listing(), {"T0/run-1/result.json", "T0/run-1/agent.log"})
        self.assertEqual((self.run_dir / "agent.log").read_text(), "old")

    def test_a_directory_without_a_result_is_removed_as_before(self):
        self.make(self.run_dir, **{"agent.log": "never finished"})
        self.assertIsNone(rundir.set_aside(self.run_dir))
        self.assertFalse(self.run_dir.exists())

    def test_killed_after_hiding_the_result(self):
        self.make(self.run_dir, rundir.HIDDEN_RESULT)
        rundir.recover(self.run_dir)
        self.assertEqual(self.listing(), {"T0/run-1/result.json"})

    def test_killed_while_the_unit_ran(self):
        self.make(self.previous, rundir.HIDDEN_RESULT, **{"agent.log": "old"})
        self.make(self.run_dir, **{"agent.log": "partial"})
        rundir.recover(self.run_dir)
        self.assertEqual(self.listing(), {"T0/run-1/result.json", "T0/run-1/agent.log"})
        self.assertEqual((self.run_dir / "agent.log").read_text(), "old")

    def test_killed_before_the_run_directory_was_made(self):
        self.make(self.previous, rundir.HIDDEN_RESULT)
        rundir.recover(self.run_dir)
        self.assertEqual(self.listing(), {"T0/run-1/result.json"})

    def test_killed_after_the_new_result_was_written(self):
        self.make(self.previous, rundir.HIDDEN_RESULT, **{"agent.log": "old"})
        self.make(self.run_dir, "result.json", **{"agent.log": "new"})
        rundir.recover(self.run_dir)
        self.assertEqual(self.listing(), {"T0/run-1/result.json", "T0/run-1/agent.log"})
        self.assertEqual((self.run_dir / "agent.log").read_text(), "new")

    def test_nothing_to_recover(self):
        rundir.recover(self.run_dir)
        self.assertFalse(self.run_dir.exists())


if __name__ == "__main__":
    unittest.main()
