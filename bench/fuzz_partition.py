#!/usr/bin/python3
"""Differential fuzzer of the distributed path (issue 16).

Each case picks a model (an ONNX backend node test that runs on one device,
the embedded GPT, or an exported real architecture), a random valid mesh
(1-D and 2-D, 2 to 4 devices, axis sizes 2 to 4) and random shardings of a
few of its tensors (inputs, weights, intermediate values; dimensions that
divide evenly and ones that do not, several axes on one dimension, open
"?" dimensions, and annotations that conflict with each other), then runs

    partita run MODEL --mesh M --shardings F --check --print-limit 0

which propagates, partitions, runs the ranks through MPI, and compares the
assembled outputs with the test's expected outputs. Every case ends in one
of four ways:

  pass       every output matches;
  rejected   exit status 1 and exactly one "error:" line: a diagnostic
             saying why this sharding cannot run (not a bug);
  MISMATCH   an output differs from the reference (a bug);
  CRASH      a signal, a hang (timeout), an exit status other than 0/1, or
             a rejection that is not one diagnostic line (a bug).

Bugs are written to OUT/findings/NNN-KIND/ with the shardings file, the
output and a repro.sh. The summary line counts cases per outcome; the exit
status is 1 when a bug was found.

usage: fuzz_partition.py --seconds S [--seed N] [--partita BIN] [--out DIR]
                         [--models DIR] [--node-dir DIR] [--filter SUBSTR]
"""
import argparse
import collections
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import shape_inference

SRC_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC_ROOT, "scripts"))
from onnx_node_tests import select_tests  # noqa: E402
from partita_ops import FOUNDATION_OPS  # noqa: E402

MESHES = [
    {"data": 2}, {"model": 2}, {"x": 3}, {"x": 4},
    {"data": 2, "model": 2}, {"a": 2, "b": 2},
]


class Model:
    """A runnable case directory and the shaped tensors that can carry an
    annotation (name -> shape)."""

    def __init__(self, path):
        self.path = path
        self.tensors = {}
        m = onnx.load(os.path.join(path, "model.onnx"), load_external_data=False)
        inits = {i.name: list(i.dims) for i in m.graph.initializer}
        data = os.path.join(path, "test_data_set_0")
        feeds = [i for i in m.graph.input if i.name not in inits]
        for k, inp in enumerate(feeds):
            pb = os.path.join(data, f"input_{k}.pb")
            if os.path.isfile(pb):
                t = onnx.TensorProto()
                with open(pb, "rb") as f:
                    t.ParseFromString(f.read())
                self.tensors[inp.name] = list(t.dims)
        self.tensors.update(inits)
        try:  # named intermediate values with static shapes
            inferred = shape_inference.infer_shapes(m)
            for vi in inferred.graph.value_info:
                dims = vi.type.tensor_type.shape.dim
                if dims and all(d.HasField("dim_value") for d in dims):
                    self.tensors[vi.name] = [d.dim_value for d in dims]
        except Exception:
            pass
        self.tensors = {n: s for n, s in self.tensors.items() if s}


def random_dims(rng, shape, mesh):
    """One annotation: per dimension None, an axis, a list of axes, or an
    open "?" list; each axis used at most once in the tensor. Prefers
    dimensions the axes divide (so most cases run rather than get
    rejected as uneven)."""
    axes = list(mesh)
    rng.shuffle(axes)
    spec = [None] * len(shape)
    dims = list(range(len(shape)))
    rng.shuffle(dims)
    for d in dims:
        if not axes or rng.random() < 0.35:
            continue
        take = 2 if len(axes) >= 2 and rng.random() < 0.2 else 1
        chosen = axes[:take]
        size = int(np.prod([mesh[a] for a in chosen]))
        if shape[d] % size and rng.random() < 0.9:
            continue  # mostly keep to even splits
        axes = axes[take:]
        spec[d] = chosen[0] if take == 1 and rng.random() < 0.7 else list(chosen)
    if rng.random() < 0.1:  # open dimensions for propagation to fill
        spec = [s if s is not None or rng.random() < 0.5 else ["?"] for s in spec]
    return spec


def random_case(rng, model):
    mesh = dict(rng.choice(MESHES))
    names = sorted(model.tensors)
    count = min(len(names), rng.choice([1, 1, 2, 3]))
    for _ in range(20):  # an all-replicated case says little: draw again
        shardings = {n: random_dims(rng, model.tensors[n], mesh)
                     for n in rng.sample(names, count)}
        if any(d is not None for spec in shardings.values() for d in spec):
            break
    return mesh, shardings


def classify(rc, out, timed_out):
    if timed_out:
        return "CRASH", "timed out (hang?)"
    crashed = re.search(r"Segmentation fault|Stack dump|Assertion|terminate called|"
                        r"PLEASE submit|core dumped|Aborted|signal \d+", out)
    if crashed:
        return "CRASH", crashed.group(0)
    if "MISMATCH" in out:
        return "MISMATCH", next(l for l in out.splitlines() if "MISMATCH" in l)
    if rc == 0:
        return ("pass", "") if re.search(r": OK|: ok", out) else ("CRASH", "exit 0, no check")
    errors = [l.strip() for l in out.splitlines() if "error:" in l]
    if rc == 1 and len(errors) == 1:
        return "rejected", errors[0]
    lines = out.strip().splitlines()
    first = errors[0] if errors else (lines[-1] if lines else "(no output)")
    return "CRASH", f"exit {rc}, {len(errors)} error lines: {first}"


def diagnostic_kind(line):
    """The diagnostic with names and numbers taken out, to count kinds."""
    line = re.sub(r"^.*?error: ", "", line)
    line = re.sub(r"'[^']*'", "'_'", line)
    return re.sub(r"\d+", "N", line)[:110]


def run(partita, model, mesh, shardings, workdir, timeout):
    os.makedirs(workdir, exist_ok=True)
    sfile = os.path.join(workdir, "shardings.json")
    with open(sfile, "w") as f:
        json.dump({"mesh": mesh, "shardings": shardings}, f)
    mesh_arg = ",".join(f"{a}={n}" for a, n in mesh.items())
    cmd = [partita, "run", model.path, "--mesh", mesh_arg, "--shardings", sfile,
           "--check", "--print-limit", "0"]
    rc, out, timed_out = run_group(cmd, timeout)
    return cmd, rc, out, timed_out


def run_group(cmd, timeout):
    """Runs cmd in its own process group; on timeout kills the whole group
    (mpirun's ranks included, which a plain kill of mpirun can leave behind).
    Returns (exit status, stdout+stderr, timed out)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out, False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return -9, out or "", True


def single_device_ok(partita, path, timeout):
    rc, out, timed_out = run_group([partita, "run", path, "--check", "--print-limit", "0"],
                                   timeout)
    return not timed_out and rc == 0 and "MISMATCH" not in out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--partita", default=os.path.join(SRC_ROOT, "build", "bin", "partita"))
    ap.add_argument("--out", default=os.path.join(SRC_ROOT, "bench", "out", "fuzz_partition"))
    ap.add_argument("--models", action="append", default=[],
                    help="a directory of case directories (model.onnx + test_data_set_0)")
    ap.add_argument("--node-dir", default="/usr/share/libonnx-testdata/data/node")
    ap.add_argument("--filter", default=None, help="node tests whose name contains this")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.seconds

    paths = [os.path.join(args.node_dir, n)
             for n, _ in select_tests(args.node_dir, FOUNDATION_OPS, args.filter)]
    gpt = os.path.join(SRC_ROOT, "build", "models", "gpt2l")
    if os.path.isfile(os.path.join(gpt, "model.onnx")) and not args.filter:
        paths.append(gpt)
    for d in args.models:
        paths += sorted(os.path.join(d, n) for n in os.listdir(d)
                        if os.path.isfile(os.path.join(d, n, "model.onnx")))
    if not paths:
        sys.exit("fuzz_partition: no model to fuzz")
    models, skip = {}, set()  # loaded lazily; skip: fails on one device
    shutil.rmtree(os.path.join(args.out, "findings"), ignore_errors=True)
    os.makedirs(os.path.join(args.out, "findings"))
    outcomes = collections.Counter()
    kinds = collections.Counter()
    bugs = []
    cases = 0
    while time.monotonic() < deadline and len(skip) < len(paths):
        path = rng.choice(paths)
        if path in skip:
            continue
        if path not in models:
            try:
                m = Model(path)
            except Exception:
                m = None
            if m is None or not m.tensors or not single_device_ok(args.partita, path,
                                                                    args.timeout):
                skip.add(path)
                continue
            models[path] = m
        model = models[path]
        mesh, shardings = random_case(rng, model)
        work = os.path.join(args.out, "last")
        cmd, rc, out, timed_out = run(args.partita, model, mesh, shardings, work, args.timeout)
        outcome, line = classify(rc, out, timed_out)
        cases += 1
        outcomes[outcome] += 1
        if outcome == "rejected":
            kinds[diagnostic_kind(line)] += 1
        if args.verbose or outcome in ("MISMATCH", "CRASH"):
            print(f"[{cases}] {outcome} {os.path.basename(path)} {json.dumps(mesh)} "
                  f"{json.dumps(shardings)} {line}", flush=True)
        if outcome in ("MISMATCH", "CRASH"):
            d = os.path.join(args.out, "findings", f"{len(bugs):03d}-{outcome}")
            os.makedirs(d, exist_ok=True)
            os.replace(os.path.join(work, "shardings.json"), os.path.join(d, "shardings.json"))
            cmd[cmd.index("--shardings") + 1] = os.path.join(d, "shardings.json")
            with open(os.path.join(d, "repro.sh"), "w") as f:
                f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
            with open(os.path.join(d, "output.txt"), "w") as f:
                f.write(out)
            bugs.append(d)
    print(f"fuzz_partition: {cases} cases on {len(models)} models in {args.seconds:.0f}s "
          f"({len(skip)} models left out: they do not run on one device) "
          f"(seed {args.seed}): " + ", ".join(f"{k} {outcomes[k]}" for k in
                                               ("pass", "rejected", "MISMATCH", "CRASH")))
    if kinds:
        print("rejections by diagnostic:")
        for k, n in kinds.most_common():
            print(f"  {n:5d}  {k}")
    if bugs:
        print(f"fuzz_partition: {len(bugs)} findings in {os.path.join(args.out, 'findings')}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
