"""Load an ONNX model, annotate its input by name for data parallelism on
data=2, check the plan (no communication) and run it on 2 MPI ranks.

    PYTHONPATH=build/python python3 examples/onnx_data_parallel.py [model.onnx]

Without an argument it writes a small MLP with onnx.helper first.
"""
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import partita as pt
from partita import P

rng = np.random.default_rng(0)
if len(sys.argv) > 1:
    path = sys.argv[1]
else:
    path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    w1 = numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32), "W1")
    w2 = numpy_helper.from_array(rng.standard_normal((16, 4)).astype(np.float32), "W2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["h0"]), helper.make_node("Relu", ["h0"], ["h"]),
         helper.make_node("MatMul", ["h", "W2"], ["y"])], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])], [w1, w2])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

model = pt.load_onnx(path)
first = model.inputs[0]
print("inputs:", model.inputs, "\noutputs:", model.outputs)
pt.annotate(model, {first.name: P("data", *([None] * (len(first.shape) - 1)))})
c = pt.compile(model, mesh=pt.Mesh({"data": 2}))
print(c.plan)

inputs = {t.name: rng.standard_normal(t.shape).astype(np.float32) for t in model.inputs}
single = c.run(inputs)
for out, value, ref in zip(model.outputs, c.run(inputs, ranks=2), single):
    assert np.allclose(value, ref, rtol=1e-4, atol=1e-5)
    print(out.name, value.shape, value.dtype, "(2 ranks, matches one device)")
