"""Partita: annotate a model's tensors over a device mesh, propagate the
shardings, see the collectives, and run it (docs/python.md).

    import numpy as np, partita as pt
    from partita import P
    g = pt.Graph("mlp")
    x = g.input("x", (8, 16))
    w1 = g.param("w1", np.random.rand(16, 32).astype(np.float32))
    w2 = g.param("w2", np.random.rand(32, 16).astype(np.float32))
    g.output(pt.ops.relu(x @ w1) @ w2, "y")
    pt.annotate(g, {"w1": P(None, "model"), "w2": P("model", None)})
    c = pt.compile(g, mesh=pt.Mesh({"model": 2}))
    print(pt.visualize(c.plan)); y, = c.run({"x": np.ones((8, 16), np.float32)})

    y, = c.run({"x": np.ones((8, 16), np.float32)}, ranks=2)  # 2 MPI ranks

run() executes the whole program on one CPU device; run(..., ranks=N) the
partitioned program on N MPI ranks (the mesh's size). compile(...,
strategy="auto") lets the auto-planner choose the shardings; plan.cost is the
cost model's prediction.
"""

from . import nn, ops
from ._errors import CompileError, ExecutionError, PartitaError
from .compiler import Compiled, Cost, Plan, Reshard, TensorSharding, compile
from .graph import Graph, Tensor, shard
from .mesh import OPEN, Mesh, P, PartitionSpec, Replicate, Shard
from .model import Model, annotate, from_torch, load_onnx
from .pipelined import Pipelined
from .training import MeshTrainer, Trainer, train
from .visualize import visualize

__version__ = "0.1.0"


def supported_ops() -> list[str]:
    """ONNX op types (and Partita composites) the importers accept."""
    from . import _core
    return list(_core.supported_ops())


__all__ = [
    "CompileError", "Compiled", "Cost", "ExecutionError", "Graph", "Mesh", "Model",
    "MeshTrainer", "OPEN", "P", "PartitaError", "PartitionSpec", "Pipelined", "Plan",
    "Replicate", "Reshard", "Shard", "Tensor", "TensorSharding", "Trainer", "annotate",
    "compile", "from_torch", "load_onnx", "nn", "ops", "shard", "supported_ops", "train",
    "visualize",
]
