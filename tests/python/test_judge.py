"""The judge and the Claude Code agent, with and without Claude available.

Claude is simulated by a stand-in `claude` executable (fake_claude.py) put on
PATH, with fake credentials in a temporary HOME; "not available" is a PATH
without any `claude` on it.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from scylla.claude import claude_availability
from scylla.errors import UsageError
from scylla.fixture import load_fixture
from scylla.judge import JudgeError, parse_judge_answer, resolve_llm_judge

from .support import FIXTURE, SCRIPT, TempDirTestCase, path_without_claude

EXPERIMENT = "test-001-T0"


class AvailabilityTest(TempDirTestCase):
    def test_needs_both_cli_and_credentials(self):
        self.assertFalse(claude_availability(self.env).available)
        self.install_fake_claude(credentials=False)
        availability = claude_availability(self.env)
        self.assertIsNotNone(availability.executable)
        self.assertFalse(availability.available)
        self.assertIn("no Claude credentials", availability.reason())
        self.assertEqual(claude_availability({**self.env, "ANTHROPIC_API_KEY": "k"}).credentials,
                         "ANTHROPIC_API_KEY")
        self.assertIsNone(claude_availability({**self.env, "ANTHROPIC_API_KEY": " "}).credentials)

    def test_judge_modes(self):
        self.assertFalse(resolve_llm_judge("auto", self.env)[0])
        self.assertFalse(resolve_llm_judge("commands", self.env)[0])
        with self.assertRaises(UsageError):
            resolve_llm_judge("claude", self.env)
        self.install_fake_claude()
        self.assertTrue(resolve_llm_judge("auto", self.env)[0])
        self.assertFalse(resolve_llm_judge("commands", self.env)[0])


class WithClaudeTest(TempDirTestCase):
    def test_auto_runs_claude_code_and_the_llm_judge(self):
        self.install_fake_claude()
        completed = self.run_cli("--tiers", "T0")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertIn("AGENT: claude-code", completed.stderr)
        result = self.result(EXPERIMENT, "T0/run-1")
        self.assertEqual(result["agent"], "claude-code")
        self.assertEqual(result["model"], "sonnet")
        self.assertEqual(result["tokens"], {"input": 8, "output": 32, "cache_creation": 1500,
                                            "cache_read": 23200, "total_input": 24708})
        self.assertAlmostEqual(result["cache_efficiency"], 23200 / 24708, places=6)
        self.assertEqual(result["agent_cost_usd"], 0.0213)
        self.assertEqual(result["judge_cost_usd"], 0.0125)
        self.assertAlmostEqual(result["cost_usd"], 0.0338)
        self.assertEqual(result["judge"]["method"], "commands+llm")
        self.assertEqual(result["judge"]["llm_model"], "opus")
        by_id = {item["id"]: item for item in result["criteria"]}
        self.assertEqual(by_id["Q2"]["method"], "llm")
        self.assertEqual(by_id["Q2"]["status"], "pass")
        self.assertEqual(by_id["OQ1"]["status"], "partial")
        self.assertEqual(by_id["OQ1"]["achieved"], 1.0)  # half of 2 points
        self.assertEqual(by_id["B3"]["status"], "na")
        self.assertEqual(by_id["F1"]["method"], "command")
        # Every category scores 1.0 except overall_quality (0.5, weight 0.20).
        self.assertEqual(result["score"], 0.9)
        self.assertEqual(result["grade"], "A")
        self.assertIn("LLM judge: A fake judge", result["reasoning"])

        agent_call, judge_call = self.fake_claude_calls()
        self.assertEqual(agent_call["args"][:7], ["--model", "sonnet", "--print", "--output-format",
                                                  "stream-json", "--verbose",
                                                  "--dangerously-skip-permissions"])
        self.assertEqual(agent_call["args"][-1], load_fixture(FIXTURE).prompt)
        self.assertEqual(agent_call["files"], ["README.md"])
        self.assertNotEqual(agent_call["cwd"], str(FIXTURE / "workspace"))
        self.assertEqual(judge_call["args"], ["--model", "opus", "--print", "--output-format", "json"])
        self.assertIn("- OQ1 (2 points)", judge_call["prompt"])
        self.assertNotIn("- F1 (1 points)", judge_call["prompt"], "machine-checked items are not asked")
        self.assertIn('print("Hello, World!")', judge_call["prompt"])
        run_dir = self.results / EXPERIMENT / "T0" / "run-1"
        for log in ("agent-stream.jsonl", "judge-prompt.md", "judge-output.json"):
            self.assertTrue((run_dir / log).is_file(), log)
        summary = self.summary(EXPERIMENT)
        self.assertEqual(summary["agents"], ["claude-code"])
        self.assertRegex(completed.stdout, r"T0/run-1\s+0\.900\s+A\s+PASS\s+\$0\.0338.*93\.90%")

    def test_tier_settings_reach_claude(self):
        fixture = self.copy_fixture()
        shutil.rmtree(fixture / "t1")  # replaced by the settings below
        self.write(fixture / "t1" / "CLAUDE.md", "# Think step by step.\n")
        self.write(fixture / "t1" / "config.yaml", """\
            name: Prompted
            model: haiku
            extra_args: ["--append-system-prompt", "Be brief."]
            """)
        self.install_fake_claude()
        completed = self.run_cli("--tiers-dir", str(fixture), "--tiers", "T1", "--judge", "commands")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        (agent_call,) = self.fake_claude_calls()
        self.assertEqual(agent_call["files"], ["CLAUDE.md", "README.md"])
        self.assertEqual(agent_call["args"][:2], ["--model", "haiku"])
        self.assertEqual(agent_call["args"][7:9], ["--append-system-prompt", "Be brief."])
        result = self.result("test-001-T1", "T1/run-1")
        self.assertEqual(result["judge"]["method"], "commands")
        self.assertEqual(result["score"], 1.0)

    def test_agent_timeout_is_recorded_and_judged(self):
        fixture = self.copy_fixture()
        self.write(fixture / "config.yaml", "timeout_seconds: 1\nmax_cost_usd: 5.0\n")
        self.install_fake_claude(mode="hang")
        completed = self.run_cli("--tiers-dir", str(fixture), "--tiers", "T0", "--judge", "commands")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        result = self.result(EXPERIMENT, "T0/run-1")
        self.assertTrue(result["timed_out"])
        self.assertEqual(result["exit_code"], 124)
        self.assertIsNone(result["agent_cost_usd"])
        self.assertLess(result["agent_duration_s"], 30)
        self.assertEqual(result["status"], "completed")
        self.assertFalse(result["passed"])
        by_id = {item["id"]: item for item in result["criteria"]}
        self.assertEqual(by_id["F1"]["status"], "fail")  # hello.py was never written
        self.assertLess(result["score"], 0.6)

    def test_sigterm_stops_the_agent_and_leaves_no_half_result(self):
        self.install_fake_claude(mode="hang")
        scratch = self.tmp / "tmpdir"
        scratch.mkdir()
        self.env["TMPDIR"] = str(scratch)
        argv = [sys.executable, str(SCRIPT), "--results-dir", str(self.results),
                "--tiers-dir", str(FIXTURE), "--tiers", "T0"]
        process = subprocess.Popen(argv, cwd=self.tmp, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not self.fake_claude_calls() and time.monotonic() < deadline:
            time.sleep(0.1)
        (agent_call,) = self.fake_claude_calls()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 143, stderr)
        self.assertIn("terminated", stderr)
        with self.assertRaises(ProcessLookupError):
            os.kill(agent_call["pid"], 0)
        self.assertEqual(list(scratch.iterdir()), [], "the temporary workspace was left behind")
        self.assertEqual(list(self.results.rglob("result.json")), [])

    def test_claude_code_that_never_starts_errors_the_run(self):
        self.install_fake_claude(mode="crash")
        completed = self.run_cli("--tiers", "T0")
        self.assertEqual(completed.returncode, 1)
        result = self.result(EXPERIMENT, "T0/run-1")
        self.assertEqual(result["status"], "error")
        self.assertIn("claude exited 1 without a result: Invalid API key", result["error"])
        self.assertIsNone(result["score"])
        self.assertEqual(result["logs"], ["agent-stderr.log", "agent-stream.jsonl"])
        self.assertEqual(self.summary(EXPERIMENT)["totals"]["errors"], 1)

    def test_a_failing_llm_judge_errors_the_run(self):
        self.install_fake_claude(mode="bad-judge")
        completed = self.run_cli("--tiers", "T0", "--agent", "oracle")
        self.assertEqual(completed.returncode, 1)
        result = self.result(EXPERIMENT, "T0/run-1")
        self.assertEqual(result["status"], "error")
        self.assertIn("no JSON object", result["error"])
        self.assertRegex(completed.stdout, r"T0/run-1\s+-\s+-\s+ERROR")
        # The next run redoes it; with the judge fixed it completes.
        self.env["FAKE_CLAUDE_MODE"] = "ok"
        self.assertEqual(self.run_cli("--tiers", "T0", "--agent", "oracle").returncode, 0)


class WithoutClaudeTest(TempDirTestCase):
    def test_llm_items_are_na_and_shown(self):
        self.install_fake_claude()
        self.env["PATH"] = path_without_claude()  # credentials stay, the CLI is gone
        completed = self.run_cli("--tiers", "T0")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        result = self.result(EXPERIMENT, "T0/run-1")
        self.assertEqual(result["agent"], "oracle")
        self.assertEqual(self.fake_claude_calls(), [])
        na = [item["id"] for item in result["criteria"] if item["status"] == "na"
              and item["method"] == "none"]
        self.assertEqual(na, ["Q2", "Q3", "B3", "OQ1"])
        self.assertEqual(result["categories"]["overall_quality"]["score"], None)
        self.assertEqual(result["score"], 1.0)


class JudgeAnswerTest(unittest.TestCase):
    def setUp(self):
        self.items = [item for item in load_fixture(FIXTURE).rubric.items if not item.machine_checkable]

    def test_answer_in_prose_and_fences(self):
        answer = {"items": [{"id": "Q2", "score": 0.25, "reason": "r"}], "reasoning": "ok"}
        results, reasoning = parse_judge_answer("Verdict {not json} then " + json.dumps(answer),
                                                self.items)
        self.assertEqual(results["Q2"].achieved, 0.25)
        self.assertEqual(results["Q2"].status, "partial")
        self.assertEqual(results["OQ1"].status, "na")
        self.assertEqual(reasoning, "ok")

    def test_bad_answers(self):
        with self.assertRaises(JudgeError):
            parse_judge_answer("no json here", self.items)
        with self.assertRaises(JudgeError):
            parse_judge_answer('{"items": [{"id": "Q2", "score": "high"}]}', self.items)


if __name__ == "__main__":
    unittest.main()
