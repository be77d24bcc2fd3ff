"""Fixture loading, and bad fixtures: each gives one clear error and exit 2."""

import unittest

from scylla.errors import FixtureError
from scylla.fixture import load_fixture

from .support import FIXTURE, TempDirTestCase


class ShippedFixtureTest(unittest.TestCase):
    def test_test_001_loads(self):
        fixture = load_fixture(FIXTURE)
        self.assertEqual(fixture.id, "test-001")
        self.assertEqual(fixture.tiers, ("T0", "T1", "T2", "T3", "T4", "T5", "T6"))
        self.assertEqual(fixture.rubric.pass_threshold, 0.60)
        self.assertEqual(fixture.timeout_seconds, 300)
        self.assertTrue((fixture.reference_solution / "hello.py").is_file())
        self.assertTrue(any(item.machine_checkable for item in fixture.rubric.items))
        self.assertTrue(any(not item.machine_checkable for item in fixture.rubric.items))


class BadFixtureTest(TempDirTestCase):
    def assert_fixture_error(self, fixture_dir, *fragments, tiers=("T0",), agent="oracle"):
        with self.assertRaises(FixtureError) as raised:
            load_fixture(fixture_dir)
        for fragment in fragments:
            self.assertIn(fragment, str(raised.exception))
        completed = self.run_cli("--tiers-dir", str(fixture_dir), "--tiers", *tiers, "--agent", agent)
        self.assertEqual(completed.returncode, 2, completed.stderr)
        error_lines = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
        self.assertEqual(len(error_lines), 1, completed.stderr)
        for fragment in fragments:
            self.assertIn(fragment, error_lines[0])
        self.assertFalse(self.results.exists(), "a bad fixture must not start an experiment")

    def test_missing_prompt(self):
        fixture = self.copy_fixture()
        (fixture / "prompt.md").unlink()
        self.assert_fixture_error(fixture, "missing prompt file", "prompt.md")

    def test_malformed_test_yaml(self):
        fixture = self.copy_fixture()
        self.write(fixture / "test.yaml", 'id: "test-001"\ntask: [unclosed\n')
        self.assert_fixture_error(fixture, "malformed YAML", "test.yaml", "line")

    def test_malformed_rubric(self):
        fixture = self.copy_fixture()
        self.write(fixture / "expected" / "rubric.yaml", "categories:\n  a: {weight: 1\n")
        self.assert_fixture_error(fixture, "malformed YAML", "rubric.yaml")

    def test_unknown_tier_in_test_yaml(self):
        fixture = self.copy_fixture()
        text = (fixture / "test.yaml").read_text().replace("T6]", "T6, T7]")
        self.write(fixture / "test.yaml", text)
        self.assert_fixture_error(fixture, "unknown tier 'T7'", "T0, T1, T2, T3, T4, T5, T6")

    def test_unknown_tier_directory(self):
        fixture = self.copy_fixture()
        self.write(fixture / "t9" / "CLAUDE.md", "# nine\n")
        self.assert_fixture_error(fixture, "t9", "unknown tier directory")

    def test_rubric_item_without_points(self):
        fixture = self.copy_fixture()
        self.write(fixture / "expected" / "rubric.yaml", """\
            categories:
              functional:
                weight: 1.0
                items:
                  - id: F1
                    check: "exists"
            """)
        self.assert_fixture_error(fixture, "item F1", "points must be a number")

    def test_missing_workspace_source(self):
        fixture = self.copy_fixture()
        (fixture / "workspace" / "README.md").unlink()
        (fixture / "workspace").rmdir()
        self.assert_fixture_error(fixture, "source.path", "not a directory")

    def test_oracle_without_reference_solution(self):
        fixture = self.copy_fixture()
        text = (fixture / "test.yaml").read_text().replace('reference_solution: "reference"', "")
        self.write(fixture / "test.yaml", text)
        load_fixture(fixture)  # a fixture without one is fine for Claude Code
        completed = self.run_cli("--tiers-dir", str(fixture), "--tiers", "T0", "--agent", "oracle")
        self.assertEqual(completed.returncode, 2)
        self.assertIn("the oracle agent (requested with --agent oracle) needs a reference solution",
                      completed.stderr)

    def test_tier_the_fixture_does_not_offer(self):
        fixture = self.copy_fixture()
        text = (fixture / "test.yaml").read_text().replace("[T0, T1, T2, T3, T4, T5, T6]", "[T0]")
        self.write(fixture / "test.yaml", text)
        completed = self.run_cli("--tiers-dir", str(fixture), "--tiers", "T0", "T3")
        self.assertEqual(completed.returncode, 2)
        self.assertIn("does not offer tier T3 (it offers T0)", completed.stderr)

    def test_missing_fixture_directory(self):
        completed = self.run_cli("--tiers-dir", str(self.tmp / "nowhere"), "--tiers", "T0")
        self.assertEqual(completed.returncode, 2)
        self.assertIn("fixture directory not found", completed.stderr)


if __name__ == "__main__":
    unittest.main()
