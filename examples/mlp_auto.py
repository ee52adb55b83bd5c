"""The auto-planner: no annotations, strategy="auto" picks the shardings of
an MLP on data=2 (an ILP over the cost model of this machine, cluster
cpu-local), shows the predicted cost and runs the plan on 2 MPI ranks.

    PYTHONPATH=build/python python3 examples/mlp_auto.py [cluster]
"""
import sys

import numpy as np

import partita as pt

rng = np.random.default_rng(0)
g = pt.Graph("mlp")
x = g.input("x", (64, 128))
w1 = g.param("w1", rng.standard_normal((128, 512)).astype(np.float32) / 11)
w2 = g.param("w2", rng.standard_normal((512, 128)).astype(np.float32) / 22)
g.output(pt.ops.relu(x @ w1) @ w2, "y")

c = pt.compile(g, mesh={"data": 2}, strategy="auto",
               cluster=sys.argv[1] if len(sys.argv) > 1 else "cpu-local")
print(c.plan.solver["status"], "in", f"{c.plan.solver['solve_seconds']:.3f} s")
print(c.plan)
cost = c.plan.cost
print(f"predicted step {cost.step_time * 1e6:.1f} us (compute {cost.compute_time * 1e6:.1f} us, "
      f"communication {cost.comm_time * 1e6:.1f} us), {cost.peak_memory / 2**20:.2f} MiB "
      f"per device on {cost.cluster}")

xv = rng.standard_normal((64, 128)).astype(np.float32)
(y,) = c.run({"x": xv}, ranks=2)
want = np.maximum(xv @ g.params["w1"], 0) @ g.params["w2"]
assert np.allclose(y, want, rtol=1e-4, atol=1e-4)
print("2 ranks: output matches numpy")
