#!/usr/bin/env python3
"""Halo exchange: a convolutional net split along H on 2 ranks, against the
same net split along the batch (data parallel, no communication) and one
device.

Builds (with Debian's python3-onnx) a small image net:

  x (B, C, S, S) -> L x [Conv 3x3 pads 1 (C -> C) -> Relu]
                 -> MaxPool 3x3 stride 2 pads 1 -> Conv 3x3 pads 1 -> AveragePool 3x3 pads 1

and runs

  partita run MODEL --repeat N                                               (single device)
  partita run MODEL --repeat N --mesh data=2 --shardings x:batch --report R.json --check
  partita run MODEL --repeat N --mesh h=2    --shardings x:H     --report R.json --check

printing per mesh the slowest rank's median step and compute (step - time
inside collectives), the collectives (for h=2 only the collective_permutes
of the halos) with their bytes per rank against the bytes of activations a
rank reads, and rank/(single/2) as in bench/partition_overhead. With batch
1 only the spatial split is available (--batch 1 skips data=2).

Usage:
  python3 bench/conv_halo/run.py [--partita build/bin/partita] [--batch 2] [--channels 32]
                                 [--size 256] [--layers 4] [--repeat 5]
"""
import argparse, json, os, re, subprocess, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from runlib import rank_summary, run_matching, sh, step_ms  # noqa: E402
OUT = os.path.join(ROOT, "bench", "out", "conv_halo")



def build(path, batch, c, s, layers):
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
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, c, s, s])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, c, s // 2, s // 2])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, path)



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    model = os.path.join(OUT, "convnet.onnx")
    b, c, s, l = args.batch, args.channels, args.size, args.layers
    build(model, b, c, s, l)
    base = [args.partita, "run", model, "--repeat", str(args.repeat), "--print-limit", "0"]
    single = step_ms(sh(base))
    # Activations a rank reads per step: half of every conv/pool input.
    act = 4 * b * c * (s * s * (l + 1) + (s // 2) ** 2 * 2) / 2
    meshes = {"h": [None, None, "h", None]}
    if b % 2 == 0:
        meshes = {"data": ["data", None, None, None], **meshes}
    rows = []
    for axis, spec in meshes.items():
        shardings = os.path.join(OUT, axis + ".json")
        json.dump({"shardings": {"x": spec}}, open(shardings, "w"))
        report = os.path.join(OUT, axis + "-report.json")
        run_matching(base + ["--mesh", axis + "=2", "--shardings", shardings, "--report", report,
                             "--check"], axis + "=2")
        r = rank_summary(report)
        rows.append((axis + "=2", r["step"], r["compute"], r["collectives"],
                     r["compute"] / (single / 2), r["counts"], r["kib"], 100 * r["bytes"] / act))
    print("\nconvnet B=%d C=%d S=%d layers=%d; single device %.1f ms" % (b, c, s, l, single))
    print("%-7s %9s %10s %15s %11s  %s" % ("mesh", "step", "compute", "collectives",
                                            "rank/(1/2)", "collectives (KiB/rank, % of activations)"))
    for mesh, step, compute, coll, ratio, counts, kib, pct in rows:
        print("%-7s %7.1fms %8.1fms %7.1fms (%2.0f%%) %10.2f  %s (%.1f, %.2f%%)" % (
            mesh, step, compute, coll, 100 * coll / step, ratio, counts, kib, pct))


if __name__ == "__main__":
    main()
