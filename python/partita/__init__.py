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

Not implemented yet (they raise NotImplementedYetError): strategy="auto"
(the auto-planner, issue 7) and multi-rank execution (partitioning and the
MPI runtime, issue 5). run() executes the unpartitioned program on one CPU
device.
"""

from . import nn, ops
from ._errors import CompileError, ExecutionError, NotImplementedYetError, PartitaError
from .compiler import Compiled, Plan, Reshard, TensorSharding, compile
from .graph import Graph, Tensor, shard
from .mesh import OPEN, Mesh, P, PartitionSpec, Replicate, Shard
from .model import Model, annotate, from_torch, load_onnx
from .visualize import visualize

__version__ = "0.1.0"


def supported_ops() -> list[str]:
    """ONNX op types (and Partita composites) the importers accept."""
    from . import _core
    return list(_core.supported_ops())


__all__ = [
    "CompileError", "Compiled", "ExecutionError", "Graph", "Mesh", "Model",
    "NotImplementedYetError", "OPEN", "P", "PartitaError", "PartitionSpec", "Plan",
    "Replicate", "Reshard", "Shard", "Tensor", "TensorSharding", "annotate", "compile",
    "from_torch", "load_onnx", "nn", "ops", "shard", "supported_ops", "visualize",
]
