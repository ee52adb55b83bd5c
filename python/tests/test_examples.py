"""Every script in examples/ runs (they are what docs/python.md shows)."""

import glob
import os
import subprocess
import sys

import pytest

from conftest import REPO

EXAMPLES = sorted(glob.glob(os.path.join(REPO, "examples", "*.py")))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_runs(script):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, script], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip()
