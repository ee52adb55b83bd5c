"""An ONNX MLP whose weights (256 KiB each) sit at every alignment mod 8 in
the file, with numpy's output as the expected one.

usage: mapped_weights.py DIR   (writes DIR/model.onnx, x.npy, and y.npy, z.npy expected)
"""
import os, sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
x = rng.standard_normal((4, 256)).astype(np.float32)
inits, nodes, y, name = [], [], x, "x"
for k in range(8):
    w = (rng.standard_normal((256, 256)) / 16).astype(np.float32)
    # Names of growing length shift each raw_data field by one more byte.
    wname = "w" + "_" * k
    inits.append(numpy_helper.from_array(w, wname))
    nodes.append(helper.make_node("MatMul", [name, wname], ["h%d" % k]))
    nodes.append(helper.make_node("Tanh", ["h%d" % k], ["t%d" % k]))
    y, name = np.tanh(y @ w), "t%d" % k
# A float64 weight too (8-byte elements), on the input cast to f64.
w64 = rng.standard_normal((256, 128))
inits.append(numpy_helper.from_array(w64, "w64"))
nodes += [helper.make_node("Cast", ["x"], ["c"], to=TensorProto.DOUBLE),
          helper.make_node("MatMul", ["c", "w64"], ["z"])]
z = x.astype(np.float64) @ w64
graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 256])],
                          [helper.make_tensor_value_info(name, TensorProto.FLOAT, [4, 256]),
                           helper.make_tensor_value_info("z", TensorProto.DOUBLE, [4, 128])], inits)
data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
offsets = sorted({data.find(i.raw_data) % 8 for i in inits})
assert len(offsets) > 4, "the weights should sit at several alignments: %s" % offsets
open(os.path.join(out, "model.onnx"), "wb").write(data)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "y.npy"), y)
np.save(os.path.join(out, "z.npy"), z)
