"""Helpers shared by the benchmark scripts that drive `partita run`."""
import re
import subprocess
import sys


def sh(cmd, with_stderr=True):
    """Runs cmd, echoing it; its stdout (and stderr), or exit on failure."""
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit("bench: failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
    return p.stdout + (p.stderr if with_stderr else "")


def step_ms(out):
    """The median step time `partita run --repeat` printed."""
    m = re.search(r"step time: median ([0-9.]+) ms", out)
    if not m:
        sys.exit("bench: no step time in:\n" + out[-2000:])
    return float(m.group(1))
