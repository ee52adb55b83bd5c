"""Each rank holds only its blocks of the weights (issue 5, "Weights").

Builds an ONNX MLP whose weights dominate its memory (3 layers of
MatMul 2048x4096 -> Relu -> MatMul 4096x2048, 192 MiB of f32), runs it on
one device and, Megatron-style (first MatMul's columns, second's rows split),
on `model=2`, and compares peak resident memory: a rank must stay below the
single-device peak by at least a quarter of the weights (it holds half of
them). A rank that imported the whole model, even briefly, peaks above the
single-device run. Outputs are checked against the single-device run's.

usage: rank_weights.py PARTITA WORKDIR
"""
import json, os, re, subprocess, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

partita, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
d, f, layers = 2048, 4096, 3
rng = np.random.default_rng(0)
inits, nodes, shardings = [], [], {}
x = "x"
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
model_path = os.path.join(work, "mlp.onnx")
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model_path)
weight_mib = layers * 2 * d * f * 4 / 2**20
np.save(os.path.join(work, "x.npy"), rng.standard_normal((8, d), dtype=np.float32))
spec = os.path.join(work, "shardings.json")
json.dump({"mesh": {"model": 2}, "shardings": shardings}, open(spec, "w"))


def run(args):
    p = subprocess.run([partita, "run", model_path, "--inputs", os.path.join(work, "x.npy"),
                        "--print-limit", "0"] + args, capture_output=True, text=True)
    if p.returncode:
        sys.exit("partita %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


single = run(["--repeat", "1", "--outputs", os.path.join(work, "ref")])
single_peak = float(re.search(r"peak RSS: ([\d.]+) MiB", single).group(1))
report = os.path.join(work, "report.json")
print(run(["--mesh", "model=2", "--shardings", spec, "--check", "--expected",
           os.path.join(work, "ref", "output_0.npy"), "--report", report]), end="")
ranks = json.load(open(report))["rank_timings"]
rank_peak = max(r["peak_rss_mib"] for r in ranks)
print("weights %.0f MiB; peak RSS: one device %.0f MiB, ranks %s MiB" %
      (weight_mib, single_peak, [round(r["peak_rss_mib"]) for r in ranks]))
if rank_peak > single_peak - weight_mib / 4:
    sys.exit("FAIL: a rank peaked at %.0f MiB, not below %.0f MiB (one device %.0f MiB "
             "minus a quarter of the weights)" % (rank_peak, single_peak - weight_mib / 4,
                                                  single_peak))
print("ranks hold their blocks only: OK")
