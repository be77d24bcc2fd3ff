"""Token and cost figures from Claude Code's stream-json output."""

import json
import unittest
from pathlib import Path

from scylla.stream_json import TokenStats, parse_stream

from .support import STREAM_SAMPLE

DATA = Path(__file__).resolve().parent / "data"


class StreamJsonTest(unittest.TestCase):
    def setUp(self):
        self.text = STREAM_SAMPLE.read_text()

    def test_final_result_event_gives_tokens_and_cost(self):
        summary = parse_stream(self.text)
        self.assertTrue(summary.has_result_event)
        self.assertEqual(summary.tokens, TokenStats(input=8, output=32, cache_creation=1500,
                                                    cache_read=23200))
        self.assertEqual(summary.cost_usd, 0.0213)
        self.assertEqual(summary.num_turns, 3)
        self.assertFalse(summary.is_error)
        self.assertEqual(summary.events, 6)
        self.assertEqual(summary.tokens.total_input, 24708)
        self.assertAlmostEqual(summary.tokens.cache_efficiency, 23200 / 24708, places=6)

    def test_without_result_event_tokens_are_summed_once_per_message(self):
        truncated = "\n".join(self.text.splitlines()[:-1])
        summary = parse_stream(truncated)
        self.assertFalse(summary.has_result_event)
        self.assertIsNone(summary.cost_usd)
        # msg_01 appears twice (one event per content block) and counts once.
        self.assertEqual(summary.tokens, TokenStats(input=8, output=32, cache_creation=1500,
                                                    cache_read=23200))

    def test_single_json_result_and_noise(self):
        result = json.dumps({"type": "result", "is_error": True, "result": "boom",
                             "total_cost_usd": 0.5, "usage": {"input_tokens": 3}})
        summary = parse_stream("Warning: something on stdout\n" + result + "\n[1, 2]\n")
        self.assertTrue(summary.is_error)
        self.assertEqual(summary.result_text, "boom")
        self.assertEqual(summary.tokens.input, 3)
        self.assertEqual(summary.unparsed_lines, 2)

    def test_an_error_without_a_status_is_in_the_cli_words(self):
        # Claude Code 2.1.332 with no route to the API: subtype "success", is_error true.
        summary = parse_stream((DATA / "claude-2.1.332-unreachable.json").read_text())
        self.assertEqual(summary.error_reason(), "API Error: Can't reach the API server — check "
                                                 "your internet or DNS (EAI_AGAIN)")
        self.assertEqual(summary.api_error_kind, "connection_failed")
        self.assertIsNone(summary.api_error_status)
        other = parse_stream(json.dumps({"type": "result", "subtype": "error_during_execution",
                                         "is_error": True, "result": "boom"}))
        self.assertEqual(other.error_reason(), "error_during_execution: boom")
        silent = parse_stream(json.dumps({"type": "result", "subtype": "success",
                                          "is_error": True}))
        self.assertEqual(silent.error_reason(), "error: no message")

    def test_empty_stream(self):
        summary = parse_stream("")
        self.assertEqual(summary.tokens.total_input, 0)
        self.assertIsNone(summary.tokens.cache_efficiency)


if __name__ == "__main__":
    unittest.main()
