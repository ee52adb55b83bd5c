"""Helpers shared by the benchmark scripts that drive `partita run`."""
import os
import re
import subprocess
import sys


def sh(cmd, with_stderr=True, env=None):
    """Runs cmd (with `env` added to the environment), echoing it; its
    stdout (and stderr), or exit on failure."""
    print("$ " + " ".join("%s=%s" % kv for kv in (env or {}).items()) + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, **env) if env else None)
    if p.returncode:
        sys.exit("bench: failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
    return p.stdout + (p.stderr if with_stderr else "")


def step_ms(out):
    """The median step time `partita run --repeat` printed."""
    m = re.search(r"step time: median ([0-9.]+) ms", out)
    if not m:
        sys.exit("bench: no step time in:\n" + out[-2000:])
    return float(m.group(1))
