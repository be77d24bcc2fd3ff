"""The model probe against an API that cannot be reached or keeps failing."""

import time
import unittest
from pathlib import Path
from unittest import mock

from scylla import probe
from scylla.errors import ApiUnusable
from scylla.stream_json import parse_stream

from .support import TempDirTestCase

DATA = Path(__file__).resolve().parent / "data"
EXPERIMENT = "test-001-T0-T1"


class UnreachableApiTest(TempDirTestCase):
    def error_lines(self, stderr):
        return [line for line in stderr.splitlines() if line.startswith("error:")]

    def test_a_connection_failure_stops_at_once_and_says_what_to_check(self):
        self.install_fake_claude(mode="offline")
        started = time.monotonic()
        completed = self.run_cli("--tiers", "T0", "T1", "--runs", "3")
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertNotIn("answered success", completed.stderr)
        self.assertNotIn("success: API Error", completed.stderr)
        self.assertNotIn("trying again", completed.stderr)
        (line,) = self.error_lines(completed.stderr)
        self.assertIn("error: the agent's model sonnet cannot be used: the CLI cannot reach the "
                      "API (API Error: Can't reach the API server — check your internet or DNS "
                      "(ENOTFOUND)); ANTHROPIC_BASE_URL is not set, so it calls "
                      "api.anthropic.com and no proxy is set: check ANTHROPIC_BASE_URL, the "
                      "proxy settings (HTTPS_PROXY, NO_PROXY) and the network", line)
        self.assertIn("cargo xtask run-experiment --network NAME", line)
        self.assertEqual(len(self.fake_claude_calls("probe")), 1, "a connection is not retried")
        self.assertEqual(self.fake_claude_calls(), [], "no unit ran")
        self.assertFalse(self.results.exists(), "the probe's failure left a results directory")

    def test_settings_are_named_never_shown_and_existing_directories_stay(self):
        self.install_fake_claude(mode="offline")
        self.env.update(ANTHROPIC_BASE_URL="http://user:secret-in-url@gateway:4000",
                        HTTPS_PROXY="http://proxy-user:proxy-secret@proxy:3128")
        experiment = self.results / EXPERIMENT
        experiment.mkdir(parents=True)
        completed = self.run_cli("--tiers", "T0", "T1")
        self.assertEqual(completed.returncode, 2, completed.stderr)
        (line,) = self.error_lines(completed.stderr)
        self.assertIn("ANTHROPIC_BASE_URL is set and HTTPS_PROXY is set", line)
        self.assertNotIn("secret", completed.stderr)
        self.assertTrue(experiment.is_dir(), "a directory that existed before was removed")

    def test_connection_failures_in_the_cli_words(self):
        summary = parse_stream((DATA / "claude-2.1.332-unreachable.json").read_text())
        self.assertTrue(probe.is_connection_failure(summary.api_error_kind,
                                                    summary.error_reason()))
        self.assertTrue(probe.is_connection_failure(None, summary.error_reason()))
        self.assertTrue(probe.is_connection_failure(
            None, "API Error: Connection refused — a firewall or proxy may be blocking it "
                  "(ECONNREFUSED)"))
        self.assertTrue(probe.is_connection_failure(
            None, "API Error: Connection dropped (ECONNRESET). Check the gateway set in "
                  "ANTHROPIC_BASE_URL, then try again."))
        self.assertFalse(probe.is_connection_failure(
            None, "API Error: 529 Overloaded. This is a server-side issue"))


class RetryProgressTest(TempDirTestCase):
    def test_a_retry_says_how_it_goes_and_the_timeout_names_the_last_failure(self):
        fake = self.install_fake_claude(mode="overloaded")
        target = probe.ProbeTarget("agent", "sonnet")
        with mock.patch.object(probe, "RETRY_TIMEOUT", 2.5), \
                mock.patch.object(probe, "PROGRESS_INTERVAL", 0.8), \
                self.assertLogs("scylla", "INFO") as logs, \
                self.assertRaises(ApiUnusable) as raised:
            probe.probe_models(str(fake), [target], self.env)
        lines = logs.output
        self.assertIn("probe: asking the agent's model sonnet failed (API error 529 "
                      "overloaded_error: API Error: 529 Overloaded.", lines[0])
        self.assertIn("trying again with the CLI's own retries, for up to 2.5s", lines[0])
        waiting = [line for line in lines if "probe: still waiting for the agent's model sonnet"
                   in line]
        self.assertGreaterEqual(len(waiting), 2, lines)
        self.assertRegex(waiting[-1], r"the CLI is retrying: attempt \d+ of 10 failed: "
                                      r"529 overloaded$")
        self.assertRegex(str(raised.exception),
                         r"^the agent's model sonnet cannot be used: no answer within 2.5s; the "
                         r"CLI's last failure: attempt \d+ of 10 failed: 529 overloaded \(")
        self.assertFalse(any("answered" in line for line in lines), lines)


if __name__ == "__main__":
    unittest.main()
