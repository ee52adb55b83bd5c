"""Each rank holds only its blocks of the weights (issue 5, "Weights").

Builds two ONNX MLPs of the same graph (3 layers of MatMul -> Relu ->
MatMul), one whose weights dominate its memory (d=2048, f=4096: 192 MiB of
f32) and one with tiny weights (d=128, f=256), and runs both Megatron-style
(first MatMul's columns, second's rows split) on `model=2`. The difference
between the two runs' peak rank memory is what the big weights cost a rank:
it must stay below 3/4 of them (a rank holds half). A rank that imported
the whole model, even briefly, pays all of them. The big model's outputs
are checked against a single-device run's.

usage: rank_weights.py PARTITA WORKDIR
"""
import json, os, subprocess, sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

partita, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
layers = 3


def build(name, d, f):
    rng = np.random.default_rng(0)
    inits, nodes, shardings, x = [], [], {}, "x"
    for i in range(layers):
        w1 = (rng.standard_normal((d, f), dtype=np.float32) / np.sqrt(d)).astype(np.float32)
        w2 = (rng.standard_normal((f, d), dtype=np.float32) / np.sqrt(f)).astype(np.float32)
        inits += [numpy_helper.from_array(w1, "w1_%d" % i), numpy_helper.from_array(w2, "w2_%d" % i)]
        nodes += [helper.make_node("MatMul", [x, "w1_%d" % i], ["h_%d" % i]),
                  helper.make_node("Relu", ["h_%d" % i], ["r_%d" % i]),
                  helper.make_node("MatMul", ["r_%d" % i, "w2_%d" % i], ["y_%d" % i])]
        shardings["w1_%d" % i] = [None, "model"]
        shardings["w2_%d" % i] = ["model", None]
        x = "y_%d" % i
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, d])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [8, d])], inits)
    path = os.path.join(work, name + ".onnx")
    with open(path, "wb") as out:
        out.write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                  .SerializeToString())
    np.save(os.path.join(work, name + "-x.npy"), rng.standard_normal((8, d), dtype=np.float32))
    spec = os.path.join(work, name + "-shardings.json")
    json.dump({"mesh": {"model": 2}, "shardings": shardings}, open(spec, "w"))
    return path, spec, layers * 2 * d * f * 4 / 2**20


def run(model, name, args):
    p = subprocess.run([partita, "run", model, "--inputs", os.path.join(work, name + "-x.npy"),
                        "--print-limit", "0"] + args, capture_output=True, text=True)
    if p.returncode:
        sys.exit("partita %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


def rank_peak(name, model, spec, extra):
    report = os.path.join(work, name + "-report.json")
    out = run(model, name, ["--mesh", "model=2", "--shardings", spec, "--report", report] + extra)
    return out, max(r["peak_rss_mib"] for r in json.load(open(report))["rank_timings"])


big, big_spec, weight_mib = build("big", 2048, 4096)
small, small_spec, _ = build("small", 128, 256)
run(big, "big", ["--outputs", os.path.join(work, "ref")])
out, big_peak = rank_peak("big", big, big_spec,
                          ["--check", "--expected", os.path.join(work, "ref", "output_0.npy")])
print(out, end="")
_, small_peak = rank_peak("small", small, small_spec, [])
# --check without expected outputs: rank 0 also holds the single-device
# reference, whose weights stay mapped until it runs after the steps.
_, ref_peak = rank_peak("big", big, big_spec, ["--check"])
for what, peak in (("", big_peak), (" (rank 0 holding the reference)", ref_peak)):
    cost = peak - small_peak
    print("weights %.0f MiB; rank peak%s %.0f MiB, with tiny weights %.0f MiB: the weights "
          "cost a rank %.0f MiB" % (weight_mib, what, peak, small_peak, cost))
    if cost > 0.75 * weight_mib:
        sys.exit("FAIL: the weights cost a rank%s %.0f MiB, more than 3/4 of their %.0f MiB"
                 % (what, cost, weight_mib))
print("ranks hold their blocks only: OK")
