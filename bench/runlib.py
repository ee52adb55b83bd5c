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


def run_matching(cmd, what):
    """`partita run ... --check` (cmd); exits when `what` does not match one
    device. Its output."""
    out = sh(cmd)
    if "MISMATCH" in out:
        sys.exit("bench: the %s run does not match one device:\n%s" % (what, out[-2000:]))
    return out


def rank_summary(report_path):
    """From a `partita run --report` file: the slowest rank's median step,
    compute and time in collectives (ms), the collective counts as text and
    the KiB each rank sends."""
    import json
    r = json.load(open(report_path))
    t = r["rank_timings"]
    return {
        "step": max(x["step_seconds"] for x in t) * 1e3,
        "compute": max(x["compute_seconds"] for x in t) * 1e3,
        "collectives": max(x["collective_seconds"] for x in t) * 1e3,
        "counts": ", ".join("%s=%d" % kv for kv in sorted(r["counts"].items())) or "none",
        "kib": r["total_bytes_per_rank"] / 1024,
        "bytes": r["total_bytes_per_rank"],
    }


def host_core_type():
    """The OPENBLAS_CORETYPE Partita's runtime picks from CPUID when none is
    set (OpenBLAS 0.3.21 names some virtualized cores 'Prescott')."""
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if "amx_tile" in flags and "avx512_bf16" in flags:
        return "SapphireRapids"
    if "avx512_bf16" in flags:
        return "Cooperlake"
    if "avx512f" in flags:
        return "SkylakeX"
    if "avx2" in flags:
        return "Haswell"
    return None


def set_core_type(env, inherit):
    """Every engine of a benchmark shares one OpenBLAS core type: the host's
    (as Partita's runtime would pick it), or with `inherit` the
    environment's OPENBLAS_CORETYPE when it has one. Returns a line saying
    which."""
    inherited = env.get("OPENBLAS_CORETYPE")
    if inherit and inherited:
        return "OPENBLAS_CORETYPE=%s (inherited)" % inherited
    core = host_core_type()
    if core:
        env["OPENBLAS_CORETYPE"] = core
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    note = " (the environment's %s overridden; --inherit-coretype keeps it)" % inherited \
        if inherited and inherited != core else ""
    return "OPENBLAS_CORETYPE=%s from CPUID%s" % (core or "(OpenBLAS's own)", note)
