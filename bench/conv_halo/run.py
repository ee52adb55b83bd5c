#!/usr/bin/env python3
"""Halo exchange: a convolutional net split along H on 2 ranks vs one device.

Builds (with Debian's python3-onnx) a small image net, batch 1, so that the
batch cannot be split and a spatial split is the data-parallel option left:

  x (1, C, S, S) -> L x [Conv 3x3 pads 1 (C -> C) -> Relu]
                 -> MaxPool 3x3 stride 2 pads 1 -> Conv 3x3 pads 1 -> AveragePool 3x3 pads 1

and runs

  partita run MODEL --repeat N                                        (single device)
  partita run MODEL --repeat N --mesh h=2 --shardings x:H --report R.json --check

printing the single-device step, the slowest rank's step and compute
(step - time inside collectives), the collectives (all collective_permutes
of the halos) with their bytes per rank against the bytes of the
activations, and rank/(single/2) as in bench/partition_overhead.

Usage:
  python3 bench/conv_halo/run.py [--partita build/bin/partita] [--channels 32] [--size 256]
                                 [--layers 4] [--repeat 5]
"""
import argparse, json, os, re, subprocess, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "bench", "out", "conv_halo")


def sh(cmd):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit("bench: failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
    return p.stdout + p.stderr


def build(path, c, s, layers):
    rng = np.random.default_rng(0)
    inits, nodes = [], []

    def conv(out, x):
        w = out + ".w"
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32), w))
        nodes.append(helper.make_node("Conv", [x, w], [out], kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))

    x = "x"
    for i in range(layers):
        conv("conv%d" % i, x)
        nodes.append(helper.make_node("Relu", ["conv%d" % i], ["relu%d" % i]))
        x = "relu%d" % i
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    conv("head", "pool")
    nodes.append(helper.make_node("AveragePool", ["head"], ["y"], kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1]))
    g = helper.make_graph(
        nodes, "conv_halo",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, s, s])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, s // 2, s // 2])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, path)


def step_ms(out):
    m = re.search(r"step time: median ([0-9.]+) ms", out)
    if not m:
        sys.exit("bench: no step time in:\n" + out[-2000:])
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    model = os.path.join(OUT, "convnet.onnx")
    build(model, args.channels, args.size, args.layers)
    shardings = os.path.join(OUT, "h.json")
    json.dump({"shardings": {"x": [None, None, "h", None]}}, open(shardings, "w"))
    report = os.path.join(OUT, "h-report.json")
    base = [args.partita, "run", model, "--repeat", str(args.repeat), "--print-limit", "0"]
    single = step_ms(sh(base))
    out = sh(base + ["--mesh", "h=2", "--shardings", shardings, "--report", report, "--check"])
    if "MISMATCH" in out:
        sys.exit("bench: the split run does not match one device:\n" + out[-2000:])
    r = json.load(open(report))
    t = r["rank_timings"]
    step = max(x["step_seconds"] for x in t) * 1e3
    compute = max(x["compute_seconds"] for x in t) * 1e3
    coll = max(x["collective_seconds"] for x in t) * 1e3
    # Activations a rank holds per step (its block of every conv/pool input).
    c, s, l = args.channels, args.size, args.layers
    act = 4 * c * (s * s * (l + 1) + (s // 2) ** 2 * 2) / 2
    halo = r["total_bytes_per_rank"]
    print("\nconvnet C=%d S=%d layers=%d, mesh h=2 (H split)" % (c, s, l))
    print("single %.1f ms | h=2 step %.1f ms, compute %.1f ms, collectives %.1f ms (%.0f%%)"
          " | rank/(single/2) %.2f" % (single, step, compute, coll, 100 * coll / step,
                                       compute / (single / 2)))
    print("collectives: %s; %.1f KiB per rank = %.2f%% of the activations a rank reads"
          % (", ".join("%s=%d" % kv for kv in sorted(r["counts"].items())), halo / 1024,
             100 * halo / act))


if __name__ == "__main__":
    main()
