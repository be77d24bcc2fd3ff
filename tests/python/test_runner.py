"""The runner end to end with the oracle agent: results, resume, --fresh, shards, summary."""

import json
import shutil
import unittest

from .support import TempDirTestCase, strip_volatile

EXPERIMENT = "test-001-T0"


class OracleRunTest(TempDirTestCase):
    def test_oracle_t0_scores_one_offline(self):
        self.env.update(SCYLLA_IMAGE_ID="sha256:" + "ab" * 32, SCYLLA_SOURCE_HASH="c0ffee")
        completed = self.run_cli("--tiers", "T0", "--runs", "1")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertIn("AGENT: oracle", completed.stderr)
        self.assertIn("the claude CLI is not on PATH", completed.stderr)
        result = self.result(EXPERIMENT, "T0/run-1")
        self.assertEqual(result["status"], "completed")
        self.assertEqual(result["score"], 1.0)
        self.assertEqual(result["grade"], "S")
        self.assertTrue(result["passed"])
        self.assertEqual(result["agent"], "oracle")
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["cost_usd"], 0.0)
        self.assertEqual(result["node"], "test-node")
        self.assertEqual(result["tokens"], {"input": 0, "output": 0, "cache_creation": 0,
                                            "cache_read": 0, "total_input": 0})
        self.assertIsNone(result["cache_efficiency"])
        for key in ("agent_duration_s", "judge_duration_s", "total_duration_s"):
            self.assertIsInstance(result[key], float)
        self.assertEqual(result["provenance"]["image_id"], "sha256:" + "ab" * 32)
        self.assertEqual(result["provenance"]["source_hash"], "c0ffee")
        self.assertEqual(result["provenance"]["fixture_id"], "test-001")
        self.assertEqual(result["judge"]["method"], "commands")
        by_id = {item["id"]: item for item in result["criteria"]}
        self.assertEqual(by_id["F4"]["status"], "pass")
        self.assertEqual(by_id["F4"]["command"]["stdout"], "Hello, World!\n")
        self.assertEqual(by_id["OQ1"]["status"], "na")
        self.assertIn("needs an LLM judge", by_id["OQ1"]["reason"])
        self.assertIn("Not applicable", result["reasoning"])
        # The summary: stdout table and summary.json.
        for column in ("Score", "Grade", "Status", "Cost", "Duration", "Agent Time",
                       "Judge Time", "Cache Efficiency"):
            self.assertIn(column, completed.stdout)
        self.assertRegex(completed.stdout, r"T0/run-1\s+1\.000\s+S\s+PASS")
        summary = self.summary(EXPERIMENT)
        self.assertTrue(summary["complete"])
        self.assertEqual(summary["agents"], ["oracle"])
        self.assertEqual(summary["totals"]["passed"], 1)
        self.assertEqual(summary["tiers"]["T0"]["mean_score"], 1.0)
        self.assertEqual(summary["runs"][0]["unit"], "T0/run-1")

    def test_every_tier_of_test_001_scores_one_with_the_oracle(self):
        completed = self.run_cli("--tiers", "T0", "T1", "T2", "T3", "T4", "T5", "T6")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        summary = self.summary("test-001-T0-T1-T2-T3-T4-T5-T6")
        self.assertEqual([row["score"] for row in summary["runs"]], [1.0] * 7)
        experiment = "test-001-T0-T1-T2-T3-T4-T5-T6"
        self.assertEqual(self.result(experiment, "T0/run-1")["tier_settings"]["files"], [])
        t3 = self.result(experiment, "T3/run-1")["tier_settings"]
        self.assertEqual(t3["name"], "Delegation")
        self.assertEqual(t3["files"], [".claude/agents/implementer.md",
                                       ".claude/agents/reviewer.md", "CLAUDE.md"])

    def test_the_workspace_is_a_fresh_copy_with_the_tier_settings(self):
        fixture = self.copy_fixture()
        shutil.rmtree(fixture / "t1")  # replaced by the settings below
        self.write(fixture / "t1" / "CLAUDE.md", "# tier one\n")
        self.write(fixture / "t1" / "config.yaml", "name: Prompted\n")
        self.run_cli("--tiers-dir", str(fixture), "--tiers", "T0", "T1", "--runs", "2")
        t0 = self.result("test-001-T0-T1", "T0/run-2")
        t1 = self.result("test-001-T0-T1", "T1/run-1")
        self.assertEqual(t0["tier_settings"]["files"], [])
        self.assertEqual(t1["tier_settings"], {"name": "Prompted", "description": "",
                                               "files": ["CLAUDE.md"]})
        # The overlay is part of the baseline: the oracle still created one file.
        p1 = next(item for item in t1["criteria"] if item["id"] == "P1")
        self.assertIn("1 new file(s): hello.py", p1["command"]["stdout"])
        # Nothing was written into the fixture.
        self.assertFalse((fixture / "workspace" / "hello.py").exists())


class ResumeTest(TempDirTestCase):
    def test_completed_runs_are_kept_and_fresh_redoes_them(self):
        self.assertEqual(self.run_cli("--tiers", "T0").returncode, 0)
        first = self.result(EXPERIMENT, "T0/run-1")
        again = self.run_cli("--tiers", "T0", "--runs", "2")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("[T0/run-1] already completed", again.stderr)
        self.assertEqual(self.result(EXPERIMENT, "T0/run-1")["started_at"], first["started_at"])
        self.assertEqual(self.result(EXPERIMENT, "T0/run-2")["status"], "completed")
        marker = self.results / EXPERIMENT / "T0" / "run-1" / "stale-marker"
        marker.write_text("from the first run")
        fresh = self.run_cli("--tiers", "T0", "--fresh")
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertNotIn("already completed", fresh.stderr)
        self.assertFalse(marker.exists(), "--fresh must start the run directory anew")

    def test_an_errored_run_is_redone(self):
        self.run_cli("--tiers", "T0")
        path = self.results / EXPERIMENT / "T0" / "run-1" / "result.json"
        result = json.loads(path.read_text())
        result.update(status="error", error="simulated", score=None)
        path.write_text(json.dumps(result))
        completed = self.run_cli("--tiers", "T0")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(self.result(EXPERIMENT, "T0/run-1")["status"], "completed")

    def test_a_run_by_another_agent_is_not_mixed_in(self):
        self.run_cli("--tiers", "T0")
        path = self.results / EXPERIMENT / "T0" / "run-1" / "result.json"
        result = json.loads(path.read_text())
        result["agent"] = "claude-code"
        path.write_text(json.dumps(result))
        completed = self.run_cli("--tiers", "T0")
        self.assertEqual(completed.returncode, 2)
        self.assertIn("completed run by agent 'claude-code'", completed.stderr)
        self.assertEqual(self.run_cli("--tiers", "T0", "--fresh").returncode, 0)

    def test_experiment_id_override(self):
        completed = self.run_cli("--tiers", "T0", "--experiment-id", "my-exp.1")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(self.result("my-exp.1", "T0/run-1")["experiment_id"], "my-exp.1")


class ShardedRunTest(TempDirTestCase):
    def tree(self, root):
        return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))

    def test_merged_shards_equal_a_single_machine_run(self):
        args = ("--tiers", "T0", "T1", "--runs", "3")
        single_results = self.results
        self.assertEqual(self.run_cli(*args).returncode, 0)
        single = single_results / "test-001-T0-T1"

        self.results = self.tmp / "sharded"
        experiment = self.results / "test-001-T0-T1"
        for index in range(3):
            self.env["SCYLLA_NODE"] = f"node-{index}"
            completed = self.run_cli(*args, "--shard", f"{index}/3")
            self.assertEqual(completed.returncode, 0, completed.stderr)
            self.assertNotIn("Cache Efficiency", completed.stdout, "a shard prints no summary")
            self.assertFalse((experiment / "summary.json").exists(), "a shard writes no summary")
            # Each shard adds its own two units and rewrites none of the others'.
            nodes = sorted(json.loads(p.read_text())["node"] for p in experiment.rglob("result.json"))
            self.assertEqual(nodes, sorted(f"node-{i}" for i in range(index + 1) for _ in range(2)))

        merged = self.run_cli(*args, "--summarize-only")
        self.assertEqual(merged.returncode, 0, merged.stderr)
        sharded = self.results / "test-001-T0-T1"
        self.assertEqual(self.tree(single), self.tree(sharded))
        for result_path in single.rglob("result.json"):
            relative = result_path.relative_to(single)
            one = json.loads(result_path.read_text())
            other = json.loads((sharded / relative).read_text())
            self.assertTrue(other["node"].startswith("node-"))
            self.assertEqual(strip_volatile(one), strip_volatile(other), relative)
        self.assertEqual(strip_volatile(json.loads((single / "summary.json").read_text())),
                         strip_volatile(json.loads((sharded / "summary.json").read_text())))

    def test_summarize_only_reports_missing_units(self):
        args = ("--tiers", "T0", "--runs", "2")
        self.assertEqual(self.run_cli(*args, "--shard", "0/2").returncode, 0)
        completed = self.run_cli(*args, "--summarize-only")
        self.assertEqual(completed.returncode, 1)
        self.assertIn("MISSING", completed.stdout)
        summary = self.summary(EXPERIMENT)
        self.assertEqual(summary["missing"], ["T0/run-2"])
        self.assertFalse(summary["complete"])

    def test_summarize_only_by_experiment_id(self):
        self.run_cli("--tiers", "T0")
        completed = self.run_cli("--summarize-only", "--experiment-id", EXPERIMENT)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(self.summary(EXPERIMENT)["totals"]["runs"], 1)

    def test_summarize_only_without_results(self):
        completed = self.run_cli("--tiers", "T0", "--summarize-only")
        self.assertEqual(completed.returncode, 2)
        self.assertIn("no results to summarize", completed.stderr)
        # Every shard failed before writing a result: the summary says so.
        (self.results / EXPERIMENT).mkdir(parents=True)
        completed = self.run_cli("--tiers", "T0", "--summarize-only")
        self.assertEqual(completed.returncode, 1, completed.stderr)
        self.assertEqual(self.summary(EXPERIMENT)["missing"], ["T0/run-1"])
        completed = self.run_cli("--summarize-only", "--experiment-id", EXPERIMENT)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("no result.json under", completed.stderr)


class UsageTest(TempDirTestCase):
    def assert_usage_error(self, *args, says):
        completed = self.run_cli(*args)
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertIn(says, completed.stderr)
        self.assertFalse(self.results.exists())

    def test_unknown_tier_names_the_valid_ones(self):
        self.assert_usage_error("--tiers", "T7", says="valid tiers are T0, T1, T2, T3, T4, T5, T6")

    def test_runs_out_of_range(self):
        self.assert_usage_error("--tiers", "T0", "--runs", "10", says="use 1 to 9")
        self.assert_usage_error("--tiers", "T0", "--runs", "0", says="use 1 to 9")

    def test_tiers_required(self):
        self.assert_usage_error(says="--tiers is required")

    def test_bad_shard_and_experiment_id(self):
        self.assert_usage_error("--tiers", "T0", "--shard", "2/2", says="need 0 <= i < N")
        self.assert_usage_error("--tiers", "T0", "--experiment-id", "../up", says="invalid --experiment-id")
        self.assert_usage_error("--tiers", "T0", "--summarize-only", "--shard", "0/2",
                                says="--summarize-only runs nothing")

    def test_claude_code_requested_but_unavailable(self):
        self.assert_usage_error("--tiers", "T0", "--agent", "claude-code",
                                says="the image has no Claude Code: rebuild it with the CLI")
        self.assert_usage_error("--tiers", "T0", "--judge", "claude",
                                says="--judge claude needs Claude Code")

    def test_lowercase_tiers_are_accepted(self):
        completed = self.run_cli("--tiers", "t0")
        self.assertEqual(completed.returncode, 0, completed.stderr)


if __name__ == "__main__":
    unittest.main()
