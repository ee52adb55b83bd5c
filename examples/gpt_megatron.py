"""A 2-layer GPT (pre-LN blocks, causal attention, GELU MLP) with Megatron
tensor parallelism on model=2: two all-reduces per block, run on 2 MPI ranks
and checked against the single-device run.

    PYTHONPATH=build/python python3 examples/gpt_megatron.py [plan.png|plan.svg]
"""
import sys

import numpy as np

import partita as pt
from partita import P, nn

batch, seq, d_model, heads, d_ff = 2, 16, 64, 4, 256
rng = np.random.default_rng(0)

g = pt.Graph("gpt")
x = g.input("x", (batch, seq, d_model), sharding=P(None, None, None))
for i in range(2):
    x = nn.transformer_block(x, nn.transformer_params(g, f"l{i}", d_model, d_ff, rng), heads)
    pt.annotate(g, nn.megatron_specs(f"l{i}", axis="model"))
g.output(x, "y")

c = pt.compile(g, mesh={"model": 2})
print(pt.visualize(c.plan, tensors=["l0.wq", "l0.w1", "l0.w2", "y"],
                   path=sys.argv[1] if len(sys.argv) > 1 else None))
print(f"{c.plan.count('all_reduce')} all-reduces, "
      f"~{c.plan.communicated_bytes} bytes sent per device per step")

print(c.plan.cost)  # predicted step time and memory per device (cpu-local)

xv = rng.standard_normal((batch, seq, d_model)).astype(np.float32)
(y,) = c.run({"x": xv}, ranks=2)  # one MPI rank per device, each with its shards
(y1,) = c.run({"x": xv})          # the whole program on one device
assert np.allclose(y, y1, rtol=1e-4, atol=1e-4)
print("output", y.shape, y.dtype, "on 2 ranks, max |2 ranks - 1 device| =",
      float(np.abs(y - y1).max()))
