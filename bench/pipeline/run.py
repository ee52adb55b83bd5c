#!/usr/bin/env python3
"""Pipeline schedules on MPI ranks against the simulator (issue 13).

Builds (with Debian's python3-onnx) a chain of L x [MatMul d x d -> Add ->
Tanh] on a microbatch of B rows, cuts it into P equal stages, and for each
schedule runs

  partita run   MODEL --mesh pipe=P --pipeline pipe --stages ... --microbatches M --schedule S --trace T
  partita train MODEL --mesh pipe=P --pipeline pipe --stages ... --microbatches M --schedule S --trace T

(inference: forwards only; training: mse + sgd, 3 steps, the last traced),
reads every rank's measured actions from the trace (per stage and
microbatch: F, and B or I and W), and feeds their means to

  partita schedule --schedule S --ranks P --microbatches M [--inference] --stage-times F:I:W,...

Printed per run: the measured step (slowest rank), the simulator's step on
the measured action times and their ratio (measured / simulated: what the
transfers, waiting and the host loop add), the measured bubble (the
largest over ranks of idle time between the rank's first and last action
over its compute time) against the simulated one and the published
formula.

Usage:
  python3 bench/pipeline/run.py [--partita build/bin/partita] [--ranks 2] [--microbatches 8]
                                [--layers 8] [--width 512] [--batch 64]
"""
import argparse, json, os, re, subprocess, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from runlib import sh  # noqa: E402
OUT = os.path.join(ROOT, "bench", "out", "pipeline")


def build(path, layers, d, batch):
    rng = np.random.default_rng(0)
    inits, nodes, x = [], [], "x"
    for i in range(layers):
        w, b = "w%d" % i, "b%d" % i
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32), w))
        inits.append(numpy_helper.from_array(np.zeros(d, np.float32), b))
        nodes += [helper.make_node("MatMul", [x, w], ["mm%d" % i]),
                  helper.make_node("Add", ["mm%d" % i, b], ["add%d" % i]),
                  helper.make_node("Tanh", ["add%d" % i], ["h%d" % i])]
        x = "h%d" % i
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, d])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [batch, d])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def measured(trace_path, ranks):
    """Mean duration (s) per action kind over all ranks, the same per stage,
    and the bubble."""
    events = [e for e in json.load(open(trace_path))["traceEvents"] if e.get("ph") == "X"]
    durs, per_stage = {}, {}
    bubble = 0.0
    for r in range(ranks):
        mine = [e for e in events if e["pid"] == r]
        compute = [e for e in mine if re.match(r"^[FBIW]\d", e["name"])]
        for e in compute:
            kind, stage = e["name"][0], int(e["name"].split("@")[1])
            durs.setdefault(kind, []).append(e["dur"] * 1e-6)
            per_stage.setdefault((stage, kind), []).append(e["dur"] * 1e-6)
        busy = sum(e["dur"] for e in compute)
        span = max(e["ts"] + e["dur"] for e in compute) - min(e["ts"] for e in compute)
        bubble = max(bubble, (span - busy) / busy)
    mean = lambda v: sum(v) / len(v)
    return ({k: mean(v) for k, v in durs.items()},
            {k: mean(v) for k, v in per_stage.items()}, bubble)


def simulate(partita, schedule, ranks, m, per_stage, training):
    """The schedule on the measured per-stage times (ms: the simulator
    prints two decimals); a combined backward B is given as I = B, W = 0."""
    stages = 1 + max(s for s, _ in per_stage)
    times = []
    for s in range(stages):
        f = per_stage[(s, "F")] * 1e3
        if (s, "I") in per_stage:
            i, w = per_stage[(s, "I")] * 1e3, per_stage[(s, "W")] * 1e3
        else:
            i, w = per_stage.get((s, "B"), 0.0) * 1e3, 0.0
        times.append("%.9g:%.9g:%.9g" % (f, i, w))
    cmd = [partita, "schedule", "--schedule", schedule, "--ranks", str(ranks),
           "--microbatches", str(m), "--stage-times", ",".join(times)]
    if not training:
        cmd.append("--inference")
    out = sh(cmd)
    sim = re.search(r"step ([0-9.e+-]+), ideal [0-9.e+-]+, bubble ([0-9.]+) "
                    r"\(published: (?:.*= )?(-?[0-9.]+)\)", out)
    if not sim:
        sys.exit("bench: no simulation in:\n" + out[-2000:])
    return float(sim.group(1)) * 1e-3, float(sim.group(2)), float(sim.group(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--microbatches", type=int, default=8)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    model = os.path.join(OUT, "chain.onnx")
    build(model, a.layers, a.width, a.batch)
    p, m = a.ranks, a.microbatches
    rows = []
    for training, schedule in [(False, "gpipe"), (False, "1f1b"), (False, "interleaved:2"),
                               (True, "gpipe"), (True, "1f1b"), (True, "interleaved:2"),
                               (True, "zb-h1"), (True, "zb-h2"), (True, "zb-v")]:
        # Virtual stages: interleaved:V and zb-v (V = 2) cut V * P equal stages.
        v = 2 if schedule in ("interleaved:2", "zb-v") else 1
        per = a.layers // (p * v)
        stages = ",".join("h%d" % (per * (k + 1) - 1) for k in range(p * v - 1))
        trace = os.path.join(OUT, "%s-%s.json" % ("train" if training else "run",
                                                  schedule.replace(":", "")))
        common = ["--mesh", "pipe=%d" % p, "--pipeline", "pipe", "--stages", stages,
                  "--microbatches", str(m), "--schedule", schedule, "--trace", trace]
        if training:
            out = sh([a.partita, "train", model, "--loss", "mse", "--optimizer", "sgd",
                      "--steps", "3"] + common)
            steps = [float(x) for x in re.findall(r"median step ([0-9.]+) ms", out)]
        else:
            out = sh([a.partita, "run", model, "--print-limit", "0"] + common)
            steps = [float(x) for x in re.findall(r": step ([0-9.]+) ms", out)]
        step = max(steps) * 1e-3
        times, per_stage, bubble = measured(trace, p)
        sim_step, sim_bubble, formula = simulate(a.partita, schedule, p, m, per_stage, training)
        rows.append(("train" if training else "run", schedule, step, sim_step, bubble,
                     sim_bubble, formula,
                     " ".join("%s %.2f" % (k, v * 1e3) for k, v in sorted(times.items()))))
    print("\npipeline: %d layers of %dx%d, microbatch %d rows, %d stages, %d microbatches"
          % (a.layers, a.width, a.width, a.batch, p, m))
    print("| run | schedule | measured step ms | simulated ms | ratio | bubble measured | "
          "simulated | formula | mean action ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, s, step, sim, b, sb, f, t in rows:
        print("| %s | %s | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f | %s |"
              % (kind, s, step * 1e3, sim * 1e3, step / sim, b, sb, f, t))


if __name__ == "__main__":
    main()
