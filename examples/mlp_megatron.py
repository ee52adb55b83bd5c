"""Megatron-style tensor parallelism for a 2-layer MLP on a 2-device mesh:
annotate two weights, see the one all-reduce it implies, run on the CPU.

    PYTHONPATH=build/python python3 examples/mlp_megatron.py
"""
import numpy as np

import partita as pt
from partita import P

rng = np.random.default_rng(0)
g = pt.Graph("mlp")
x = g.input("x", (8, 16))
w1 = g.param("w1", rng.standard_normal((16, 32)).astype(np.float32))
w2 = g.param("w2", rng.standard_normal((32, 16)).astype(np.float32))
g.output(pt.ops.relu(x @ w1) @ w2, "y")
pt.annotate(g, {"w1": P(None, "model"), "w2": P("model", None)})
c = pt.compile(g, mesh=pt.Mesh({"model": 2}))
print(pt.visualize(c.plan))

xv = rng.standard_normal((8, 16)).astype(np.float32)
(y,) = c.run({"x": xv})  # the whole program, on one CPU device
want = np.maximum(xv @ g.params["w1"], 0) @ g.params["w2"]
assert np.allclose(y, want, rtol=1e-4, atol=1e-4)
print("all_reduce count:", c.plan.count("all_reduce"), "- output matches numpy")
