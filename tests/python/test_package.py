"""The package itself: version, import cost, Python 3.10 compatibility, check helpers."""

import ast
import os
import re
import subprocess
import sys
import unittest

import scylla
from scylla.checks import new_files, non_blank_lines, workspace_files

from .support import REPO, TempDirTestCase

PACKAGE = REPO / "src" / "scylla"


def python_path() -> str:
    """src/ first, then whatever PYTHONPATH already holds (PyYAML may live there)."""
    return os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))


class PackageTest(unittest.TestCase):
    def test_version_matches_pyproject(self):
        text = (REPO / "pyproject.toml").read_text()
        project = text.split("[project]", 1)[1].split("\n[", 1)[0]
        version = re.search(r'^version\s*=\s*"([^"]+)"', project, re.MULTILINE).group(1)
        self.assertEqual(scylla.__version__, version)

    def test_pyproject_declares_what_the_image_build_reads(self):
        text = (REPO / "pyproject.toml").read_text()
        self.assertIn('requires-python = ">=3.10"', text)
        self.assertIn('dependencies = ["PyYAML>=6"]', text)
        groups = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
        self.assertRegex(groups, r'(?m)^judge = \["ruff>=[0-9.]+"\]$')
        self.assertRegex(groups, r'(?m)^dev = \["pytest>=7"\]$')

    def test_import_is_cheap(self):
        # `import scylla` is the image's health probe: it must not need PyYAML.
        probe = ("import sys, scylla; "
                 "print(sorted(m for m in ('yaml', 'scylla.cli', 'scylla.runner') if m in sys.modules))")
        completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                   env={**os.environ, "PYTHONPATH": python_path()}, check=True)
        self.assertEqual(completed.stdout.strip(), "[]")

    def test_sources_avoid_python_3_11_only_features(self):
        for path in sorted(PACKAGE.glob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                with self.subTest(file=path.name, line=getattr(node, "lineno", 0)):
                    if isinstance(node, ast.Import):
                        self.assertNotIn("tomllib", [alias.name for alias in node.names])
                    if isinstance(node, ast.ImportFrom):
                        self.assertNotEqual(node.module, "tomllib")
                        if node.module == "datetime":
                            self.assertNotIn("UTC", [alias.name for alias in node.names])
                    if isinstance(node, ast.Attribute) and node.attr == "UTC":
                        self.fail(f"{path.name}:{node.lineno} uses datetime.UTC (Python 3.11+)")
                    self.assertNotIsInstance(node, getattr(ast, "TryStar", ()))

    def test_python_m_scylla_is_the_runner(self):
        completed = subprocess.run([sys.executable, "-m", "scylla", "--version"], capture_output=True,
                                   text=True, env={**os.environ, "PYTHONPATH": python_path()})
        self.assertEqual(completed.returncode, 0)
        self.assertEqual(completed.stdout.strip(), f"scylla {scylla.__version__}")


class CheckHelpersTest(TempDirTestCase):
    def test_new_files_against_the_baseline(self):
        workspace = self.tmp / "ws"
        self.write(workspace / "README.md", "x\n")
        self.write(workspace / ".git" / "HEAD", "ref\n")
        manifest = self.write(self.tmp / "baseline.txt", "README.md\n")
        self.write(workspace / "hello.py", "print(1)\n")
        self.write(workspace / "pkg" / "mod.py", "\n")
        self.assertEqual(workspace_files(workspace), ["README.md", "hello.py", "pkg/mod.py"])
        self.assertEqual(new_files(workspace, manifest), ["hello.py", "pkg/mod.py"])

    def test_command_line(self):
        workspace = self.tmp / "ws"
        self.write(workspace / "hello.py", "\n# comment\n\nprint(1)\n")
        manifest = self.write(self.tmp / "baseline.txt", "")
        self.assertEqual(non_blank_lines(workspace / "hello.py"), 2)

        def check(*args):
            env = {**self.env, "PYTHONPATH": python_path(), "SCYLLA_BASELINE_MANIFEST": str(manifest)}
            return subprocess.run([sys.executable, "-m", "scylla.checks", *args], cwd=workspace,
                                  env=env, capture_output=True, text=True).returncode

        self.assertEqual(check("max-lines", "hello.py", "2"), 0)
        self.assertEqual(check("max-lines", "hello.py", "1"), 1)
        self.assertEqual(check("max-lines", "absent.py", "3"), 1)
        self.assertEqual(check("new-files", "--max", "1"), 0)
        self.assertEqual(check("new-files", "--max", "0"), 1)


if __name__ == "__main__":
    unittest.main()
