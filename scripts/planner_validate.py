#!/usr/bin/env python3
"""Validation table of the cost model against Megatron-LM (docs/planner.md).

Generates a 2-layer transformer at GPT-3 175B dimensions (b=8, s=2048,
h=12288, 96 heads, ffn 4h, bf16) with the program generator of
bench/propagation_vs_upstream, runs `partita plan --cost` for Megatron
(model=8), 2-D (data=2, model=4) and data parallel (data=8), and compares the
collectives and FLOPs with Megatron-LM's closed forms:
  all-reduces per layer forward = 2, each of b_local·s·h elements;
  forward FLOPs per layer = 24·b·s·h²·(1 + s/(6h)) (matmuls only).
Usage: scripts/planner_validate.py BUILD_DIR [--cluster h100x8]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "propagation_vs_upstream"))
import run  # noqa: E402


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    cluster = sys.argv[sys.argv.index("--cluster") + 1] if "--cluster" in sys.argv else "h100x8"
    d = run.DIMS["gpt3"]
    b, s, h, layers = d["B"], d["S"], d["H"], 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode, data in (("megatron", 1), ("2d", 2), ("dp", 8)):
            text, _ = run.partita_program("tfm", mode, d, layers)
            text = re.sub(r'loc\("l(\d+)\.', r'loc("layers.\1.', text)
            src, out = os.path.join(tmp, mode + ".mlir"), os.path.join(tmp, mode + ".json")
            open(src, "w").write(text)
            subprocess.run([os.path.join(build, "bin", "partita"), "plan", src, "--cost",
                            "--cluster", cluster, "-o", out], check=True,
                           stdout=subprocess.DEVNULL)
            c = json.load(open(out))["cost"]
            n = c["devices"]
            tp = n // data
            per_layer = [l for l in c["layers"] if l["layer"] == "layers.0"][0]
            ars = [x for x in c["collectives"] if x["layer"] == "layers.0"]
            want_ar = 2 if tp > 1 else 0
            want_elems = (b // data) * s * h
            flops_formula = 24 * b * s * h * h * (1 + s / (6 * h)) / n
            rows.append((mode, "data=%d,model=%d" % (data, tp),
                         "%d / %d" % (len(ars), want_ar),
                         "%s / %s" % (",".join(str(int(x["elements"])) for x in ars) or "-",
                                      want_elems if want_ar else "-"),
                         "%d" % sum(int(x["bytes"]) for x in ars),
                         "%.4g / %.4g" % (per_layer["flops"], flops_formula),
                         "%.3f" % (per_layer["compute_time_s"] * 1e3),
                         "%.3f" % (per_layer["comm_time_s"] * 1e3),
                         "%.2f" % (c["memory"]["total_bytes"] / 2**30)))
    print("| plan | mesh | all-reduces/layer (model / Megatron) | elements each (model / b·s·h) "
          "| bytes/layer | FLOPs/layer/device (model / 24bsh²(1+s/6h)/n) | compute ms | comm ms "
          "| memory GiB |")
    print("|---|---|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
