#!/usr/bin/env python3
"""Planner scaling: `partita plan --strategy auto` on GPT-3 175B dimensions.

For 24, 48 and 96 layers on 8, 64 and 512 H100s (cluster preset
h100-cluster: 8 per node on NVLink, nodes on 400 Gb/s InfiniBand), generates
the transformer of bench/propagation_vs_upstream/run.py (h=12288, 96 heads,
ffn 4h, sequence 2048, bf16; global batch = one sequence per device), and for
every mesh data=N/m x model=m (m = 1, 2, 4, 8; tensor parallelism inside a
node):
  * solves it with --strategy auto (solve time, ILP size, predicted step time
    and memory of the resulting plan, from the normal cost pipeline);
  * costs the hand-written plan for that mesh: Megatron tensor parallelism
    on `model` (column-parallel wq/wk/wv/w1, row-parallel wo/w2) and the batch
    split on `data`.
Reports per (layers, devices) the best of each among the plans that fit in
device memory. Writes bench/out/planner_scaling.md.

Usage: bench/planner_scaling/run.py [BUILD_DIR] [--layers 24,48,96]
       [--devices 8,64,512]
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "propagation_vs_upstream"))
import run as gen  # noqa: E402

CLUSTER = "h100-cluster"


def program(mode, mesh, layers, batch):
    gen.MESHES[mode] = mesh
    dims = dict(gen.DIMS["gpt3"])
    dims["B"] = batch
    text, _ = gen.partita_program("tfm", mode, dims, layers)
    text = re.sub(r'loc\("l(\d+)\.', r'loc("layers.\1.', text)
    return re.sub(r'graph.name = "l(\d+)\.', r'graph.name = "layers.\1.', text)


def plan(partita, path, extra):
    out = path + ".json"
    t0 = time.time()
    p = subprocess.run([partita, "plan", path, "--cluster", CLUSTER, "--cost", "-o", out] + extra,
                       capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit("partita failed on %s: %s" % (path, p.stderr.strip()[-500:]))
    cost = json.load(open(out))["cost"]
    solve = re.search(r"^strategy auto: .*?(\d+) variables, .*; (.*) in ([0-9.]+) s;", p.stdout, re.M)
    return dict(step=cost["step_time_s"], comp=cost["compute_time_s"], comm=cost["comm_time_s"],
                mem=cost["memory"]["total_bytes"], fits=cost["memory"]["fits"], wall=wall,
                vars=int(solve.group(1)) if solve else None,
                status=solve.group(2) if solve else None,
                solve=float(solve.group(3)) if solve else None)


def meshes(n):
    for m in (1, 2, 4, 8):
        if n % m == 0 and m <= n:
            d = n // m
            if d == 1:
                yield "model=%d" % m, "megatron", [("model", m)]
            elif m == 1:
                yield "data=%d" % d, "dp", [("data", d)]
            else:
                yield "data=%d,model=%d" % (d, m), "2d", [("data", d), ("model", m)]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = args[0] if args else os.path.join(ROOT, "build")
    partita = os.path.join(build, "bin", "partita")
    opt = lambda name, default: [int(x) for x in (sys.argv[sys.argv.index(name) + 1]
                                                  if name in sys.argv else default).split(",")]
    layer_list, device_list = opt("--layers", "24,48,96"), opt("--devices", "8,64,512")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in device_list:
            for layers in layer_list:
                best_auto = best_hand = None
                worst_solve = 0
                for mesh_text, mode, mesh in meshes(n):
                    auto_path = os.path.join(tmp, "auto.mlir")
                    open(auto_path, "w").write(program("auto", mesh, layers, n))
                    a = plan(partita, auto_path, ["--strategy", "auto"])
                    a["mesh"] = mesh_text
                    worst_solve = max(worst_solve, a["solve"])
                    hand_path = os.path.join(tmp, "hand.mlir")
                    open(hand_path, "w").write(program(mode, mesh, layers, n))
                    h = plan(partita, hand_path, [])
                    h["mesh"] = mesh_text
                    print("L=%d N=%d %-18s auto %.4g s (%s, solve %.3f s, %d vars, %.1f GiB%s)  "
                          "hand %.4g s (%.1f GiB%s)" % (
                              layers, n, mesh_text, a["step"], a["status"], a["solve"], a["vars"],
                              a["mem"] / 2**30, "" if a["fits"] else " DOES NOT FIT", h["step"],
                              h["mem"] / 2**30, "" if h["fits"] else " DOES NOT FIT"),
                          file=sys.stderr)
                    if a["fits"] and (best_auto is None or a["step"] < best_auto["step"]):
                        best_auto = a
                    if h["fits"] and (best_hand is None or h["step"] < best_hand["step"]):
                        best_hand = h
                rows.append((layers, n, best_auto, best_hand, worst_solve))
    lines = ["| layers | devices | solve s (max over meshes) | auto: mesh | auto: step s | auto: GiB "
             "| best hand TP x DP: mesh | hand: step s | hand: GiB | auto / hand |",
             "|---:|---:|---:|---|---:|---:|---|---:|---:|---:|"]
    for layers, n, a, h, solve in rows:
        cell = lambda p, k, f: (f % p[k]) if p else "-"
        lines.append("| %d | %d | %.3f | %s | %s | %s | %s | %s | %s | %s |" % (
            layers, n, solve, a["mesh"] if a else "none fits", cell(a, "step", "%.4f"),
            ("%.1f" % (a["mem"] / 2**30)) if a else "-", h["mesh"] if h else "none fits",
            cell(h, "step", "%.4f"), ("%.1f" % (h["mem"] / 2**30)) if h else "-",
            ("%.3f" % (a["step"] / h["step"])) if a and h else "-"))
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    open(os.path.join(ROOT, "bench", "out", "planner_scaling.md"), "w").write(text + "\n")


if __name__ == "__main__":
    main()
