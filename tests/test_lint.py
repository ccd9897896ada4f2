"""The code passes the lint configuration in pyproject.toml ([tool.ruff]: pyflakes, pycodestyle, import order)."""
import subprocess
import sys

from tests.helpers import ROOT


def test_ruff_finds_nothing():
    proc = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--no-cache', '--output-format', 'concise', '.'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
