#!/usr/bin/env python3
"""Long-sequence attention on 2 ranks: the sequence split over seq=2 with
K/V all-gathered, with Ulysses (all_to_all), with ring attention
(collective_permute) and, causal, with the zigzag ring, each measured and set against the cost model's
prediction of the same partitioned program (docs/sequence.md).

Builds (with Debian's python3-onnx) one attention block as exporters write
it:

  x (1, S, D) -> q, k, v = x Wq, x Wk, x Wv -> heads (H x S x D/H)
              -> softmax(q k^T / sqrt(D/H) + causal mask) v -> merge heads -> Wo

and runs, for each form,

  partita plan MODEL --composites --cost --cluster C --shardings F     (predicted step)
  partita run  MODEL --mesh seq=2 --shardings F --repeat N --report R --check

printing the slowest rank's median step, compute and time in collectives,
the collectives with bytes per rank, and measured / predicted; then the
form `auto` takes on the same cluster (priced) next to the fastest measured. C is a
preset measured here first (`partita calibrate --ranks 2`, kept in
bench/out/sequence_parallel/cluster.json) unless --cluster names one.

Usage:
  python3 bench/sequence_parallel/run.py [--partita build/bin/partita] [--seq 2048]
      [--hidden 256] [--heads 8] [--repeat 5] [--cluster FILE] [--non-causal]
"""
import argparse, json, os, re, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from runlib import rank_summary, run_matching, sh  # noqa: E402
OUT = os.path.join(ROOT, "bench", "out", "sequence_parallel")
FORMS = ("gather", "ulysses", "ring", "zigzag")


def build(path, s, d, h, causal):
    rng = np.random.default_rng(0)
    dh = d // h
    inits, nodes = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))

    for w in ("wq", "wk", "wv", "wo"):
        const(w, (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32))
    const("heads_shape", np.array([1, s, h, dh], dtype=np.int64))
    const("merged_shape", np.array([1, s, d], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(dh), dtype=np.float32))
    for n in ("q", "k", "v"):
        nodes.append(helper.make_node("MatMul", ["x", "w" + n], [n + "_proj"]))
        nodes.append(helper.make_node("Reshape", [n + "_proj", "heads_shape"], [n + "_heads"]))
        perm = [0, 2, 3, 1] if n == "k" else [0, 2, 1, 3]
        nodes.append(helper.make_node("Transpose", [n + "_heads"], [n + "_t"], perm=perm))
    nodes.append(helper.make_node("MatMul", ["q_t", "k_t"], ["scores"]))
    nodes.append(helper.make_node("Mul", ["scores", "scale"], ["scaled"]))
    logits = "scaled"
    if causal:
        const("mask", np.triu(np.full((s, s), -1e9, dtype=np.float32), 1))
        nodes.append(helper.make_node("Add", ["scaled", "mask"], ["masked"]))
        logits = "masked"
    nodes.append(helper.make_node("Softmax", [logits], ["probs"], axis=-1))
    nodes.append(helper.make_node("MatMul", ["probs", "v_t"], ["context"]))
    nodes.append(helper.make_node("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]))
    nodes.append(helper.make_node("Reshape", ["context_t", "merged_shape"], ["merged"]))
    nodes.append(helper.make_node("MatMul", ["merged", "wo"], ["y"]))
    g = helper.make_graph(
        nodes, "attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, s, d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, s, d])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, path)


def predicted_ms(out):
    """(step, communication) in ms from `partita plan --cost`."""
    m = re.search(r"step time: ([0-9.e+-]+) (us|ms|s) = compute [0-9.e+-]+ (?:us|ms|s) \+ "
                  r"communication ([0-9.e+-]+) (us|ms|s)", out)
    if not m:
        sys.exit("bench: no predicted step time in:\n" + out[-2000:])
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return float(m.group(1)) * unit[m.group(2)], float(m.group(3)) * unit[m.group(4)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cluster", default="")
    ap.add_argument("--non-causal", action="store_true")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    model = os.path.join(OUT, "attention.onnx")
    s, d, h = args.seq, args.hidden, args.heads
    build(model, s, d, h, not args.non_causal)
    cluster = args.cluster or os.path.join(OUT, "cluster.json")
    if not os.path.exists(cluster):
        sh([args.partita, "calibrate", "--ranks", "2", "-o", cluster])
    rows = []
    for form in FORMS:
        if form == "zigzag" and args.non_causal:
            continue
        shardings = os.path.join(OUT, form + ".json")
        json.dump({"mesh": {"seq": 2}, "shardings": {"x": [None, "seq", None]},
                   "attention": form}, open(shardings, "w"))
        plan = sh([args.partita, "plan", model, "--composites", "--cost", "--cluster", cluster,
                   "--shardings", shardings])
        if not re.search(r"\): %s \(" % form, plan):
            sys.exit("bench: the attention did not take the %s form:\n%s" % (form, plan[-2000:]))
        predicted, predicted_comm = predicted_ms(plan)
        report = os.path.join(OUT, form + "-report.json")
        run_matching([args.partita, "run", model, "--mesh", "seq=2", "--shardings", shardings,
                      "--repeat", str(args.repeat), "--print-limit", "0", "--report", report,
                      "--check"], form)
        r = rank_summary(report)
        rows.append((form, r["step"], r["compute"], r["collectives"], predicted, predicted_comm,
                     r["counts"], r["kib"]))
    # What `auto` takes on the same cluster, priced (docs/sequence.md,
    # "Choosing by cost"), next to the fastest measured form.
    shardings = os.path.join(OUT, "auto.json")
    json.dump({"mesh": {"seq": 2}, "shardings": {"x": [None, "seq", None]}}, open(shardings, "w"))
    plan = sh([args.partita, "plan", model, "--composites", "--cluster", cluster,
               "--shardings", shardings])
    m = re.search(r"\): (\w+) \((auto[^\n]*)\)\n", plan)
    if not m:
        sys.exit("bench: no auto attention form in:\n" + plan[-2000:])
    fastest = min(rows, key=lambda r: r[1])[0]
    print("\nattention S=%d D=%d heads=%d %s on seq=2; cluster %s" % (
        s, d, h, "non-causal" if args.non_causal else "causal", cluster))
    print("%-8s %9s %10s %12s %10s %9s %11s  %s" % (
        "form", "step", "compute", "collectives", "predicted", "meas/pred", "pred. comm",
        "collectives (KiB/rank)"))
    for form, step, compute, coll, pred, pcomm, counts, kib in rows:
        print("%-8s %7.1fms %8.1fms %10.1fms %8.1fms %9.2f %9.2fms  %s (%.0f)" % (
            form, step, compute, coll, pred, step / pred, pcomm, counts, kib))
    print("auto picks %s (%s); measured fastest: %s%s" % (
        m.group(1), m.group(2), fastest, "" if m.group(1) == fastest else " (MISMATCH)"))


if __name__ == "__main__":
    main()
