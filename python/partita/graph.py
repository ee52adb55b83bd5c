"""Building a graph in Python: inputs, parameters, ops, outputs.

Every op is checked when it is added: its output types come from the
compiler's own shape rules (the same importer the JSON graph IR goes
through), so a bad shape raises :class:`partita.CompileError` at the line
that built the op. The graph is emitted as the JSON graph IR
(docs/json-format.md) with ONNX op names and attributes.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Sequence

import numpy as np

from . import _dtypes
from ._errors import CompileError
from .mesh import Mesh, PartitionSpec, as_mesh, as_spec

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _core():
    from . import _core as core  # imported lazily: pure-Python parts work without it
    return core


def _callsite() -> str:
    """file:line of the innermost caller outside the partita package."""
    f = sys._getframe(1)
    while f is not None:
        path = os.path.abspath(f.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return f"{os.path.basename(path)}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


class Node:
    __slots__ = ("op", "inputs", "outputs", "attrs", "callsite")

    def __init__(self, op, inputs, outputs, attrs, callsite):
        self.op, self.inputs, self.outputs = op, inputs, outputs
        self.attrs, self.callsite = attrs, callsite

    def to_json(self) -> dict:
        d: dict[str, Any] = {"op": self.op, "inputs": list(self.inputs),
                             "outputs": list(self.outputs)}
        if self.attrs:
            d["attrs"] = self.attrs
        return d


class Tensor:
    """A value of a :class:`Graph`: name, dtype and static shape."""

    __slots__ = ("graph", "name", "dtype", "shape")
    __array_priority__ = 1000  # numpy scalars defer to our operators

    def __init__(self, graph: "Graph", name: str, dtype: str, shape: Sequence[int]):
        self.graph, self.name = graph, name
        self.dtype, self.shape = dtype, tuple(int(d) for d in shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return f"Tensor({self.name!r}, {self.dtype}, {self.shape})"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError("a partita Tensor has no truth value (it is symbolic)")

    # Arithmetic (ONNX broadcasting). Python numbers become constants of the
    # tensor's dtype; numpy arrays become parameters.
    def __add__(self, o): return _binary("Add", self, o)
    def __radd__(self, o): return _binary("Add", o, self)
    def __sub__(self, o): return _binary("Sub", self, o)
    def __rsub__(self, o): return _binary("Sub", o, self)
    def __mul__(self, o): return _binary("Mul", self, o)
    def __rmul__(self, o): return _binary("Mul", o, self)
    def __truediv__(self, o): return _binary("Div", self, o)
    def __rtruediv__(self, o): return _binary("Div", o, self)
    def __pow__(self, o): return _binary("Pow", self, o)
    def __rpow__(self, o): return _binary("Pow", o, self)
    def __mod__(self, o): return _binary("Mod", self, o, {"fmod": 1} if _dtypes.is_float(self.dtype) else None)
    def __matmul__(self, o): return _binary("MatMul", self, o)
    def __rmatmul__(self, o): return _binary("MatMul", o, self)
    def __neg__(self): return self.graph._node("Neg", [self])
    def __abs__(self): return self.graph._node("Abs", [self])
    def __lt__(self, o): return _binary("Less", self, o)
    def __le__(self, o): return _binary("LessOrEqual", self, o)
    def __gt__(self, o): return _binary("Greater", self, o)
    def __ge__(self, o): return _binary("GreaterOrEqual", self, o)
    def __and__(self, o): return _binary("And", self, o)
    def __or__(self, o): return _binary("Or", self, o)
    def __xor__(self, o): return _binary("Xor", self, o)
    def __invert__(self): return self.graph._node("Not", [self])

    @property
    def T(self) -> "Tensor":
        """All dimensions reversed (numpy's .T)."""
        from . import ops
        return ops.transpose(self)

    def reshape(self, *shape) -> "Tensor":
        from . import ops
        return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def transpose(self, *perm) -> "Tensor":
        from . import ops
        perm = perm[0] if len(perm) == 1 and isinstance(perm[0], (tuple, list)) else perm
        return ops.transpose(self, perm or None)

    def sum(self, axis=None, keepdims=False):
        from . import ops
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        from . import ops
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        from . import ops
        return ops.reduce_max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        from . import ops
        return ops.reduce_min(self, axis, keepdims)

    def astype(self, dtype) -> "Tensor":
        from . import ops
        return ops.cast(self, dtype)

    def __getitem__(self, index) -> "Tensor":
        """Basic indexing: integers, slices (any step) and ``None`` is not
        supported; integers drop their dimension (Slice + Squeeze)."""
        from . import ops
        if not isinstance(index, tuple):
            index = (index,)
        if len(index) > self.ndim:
            raise IndexError(f"too many indices for {self!r}")
        starts, ends, axes, steps, squeeze = [], [], [], [], []
        for axis, ix in enumerate(index):
            if isinstance(ix, slice):
                if ix == slice(None):
                    continue
                start, stop, step = ix.indices(self.shape[axis])
                if step < 0 and stop < 0:
                    stop = -(2 ** 63) + 1  # ONNX: before index 0
                starts.append(start); ends.append(stop); axes.append(axis); steps.append(step)
            elif isinstance(ix, (int, np.integer)):
                i = int(ix) + (self.shape[axis] if ix < 0 else 0)
                if not 0 <= i < self.shape[axis]:
                    raise IndexError(f"index {ix} is out of bounds for dimension {axis} "
                                     f"of size {self.shape[axis]}")
                starts.append(i); ends.append(i + 1); axes.append(axis); steps.append(1)
                squeeze.append(axis)
            else:
                raise TypeError(f"unsupported index {ix!r} (integers and slices only)")
        out = self
        if axes:
            out = ops.slice(out, starts, ends, axes, steps)
        if squeeze:
            out = ops.squeeze(out, squeeze)
        return out


def _binary(op, a, b, attrs=None):
    g = a.graph if isinstance(a, Tensor) else b.graph
    like = a if isinstance(a, Tensor) else b
    return g._node(op, [g._lift(a, like), g._lift(b, like)], attrs)


class Graph:
    """A tensor program built in Python.

    >>> g = Graph("mlp")
    >>> x = g.input("x", (8, 16))
    >>> w = g.param("w", np.ones((16, 4), np.float32))
    >>> g.output(ops.relu(x @ w), "y")
    """

    def __init__(self, name: str = "main", mesh: Mesh | dict | None = None):
        if not isinstance(name, str) or not name:
            raise ValueError("a graph needs a non-empty name")
        self.name = name
        self.mesh = as_mesh(mesh)
        self._inputs: list[str] = []
        self._params: dict[str, np.ndarray] = {}
        self._param_dtypes: dict[str, str] = {}
        self._nodes: list[Node] = []
        self._outputs: list[str] = []
        self._tensors: dict[str, Tensor] = {}
        self._defined_at: dict[str, str] = {}
        self._consts: dict[tuple, Tensor] = {}
        self._counter = 0
        #: tensor name -> PartitionSpec, from :func:`shard` and :func:`annotate`.
        self.annotations: dict[str, PartitionSpec] = {}

    # -- tensors -----------------------------------------------------------
    def __getitem__(self, name: str) -> Tensor:
        try:
            return self._tensors[name]
        except KeyError:
            raise KeyError(f"graph {self.name!r} has no tensor {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._tensors

    @property
    def tensors(self) -> dict[str, Tensor]:
        return dict(self._tensors)

    @property
    def inputs(self) -> list[Tensor]:
        return [self._tensors[n] for n in self._inputs]

    @property
    def outputs(self) -> list[Tensor]:
        return [self._tensors[n] for n in self._outputs]

    @property
    def params(self) -> dict[str, np.ndarray]:
        return dict(self._params)

    def _check_name(self, name: str) -> str:
        if not isinstance(name, str) or not name:
            raise ValueError(f"tensor names must be non-empty strings, got {name!r}")
        if name in self._tensors:
            raise ValueError(f"graph {self.name!r} already has a tensor named {name!r} "
                             f"(defined at {self._defined_at.get(name, '?')})")
        return name

    def _fresh(self, prefix: str) -> str:
        while True:
            name = f"{prefix}_{self._counter}"
            self._counter += 1
            if name not in self._tensors:
                return name

    def _add(self, name, dtype, shape, where) -> Tensor:
        t = Tensor(self, name, _dtypes.canonical(dtype), shape)
        self._tensors[name] = t
        self._defined_at[name] = where
        return t

    def input(self, name: str, shape: Sequence[int], dtype="f32",
              sharding=None) -> Tensor:
        """A graph input (a function argument of @main)."""
        self._check_name(name)
        shape = tuple(shape)
        if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
            raise ValueError(f"input {name!r}: shape must be non-negative integers, got {shape}")
        t = self._add(name, dtype, shape, _callsite())
        self._inputs.append(name)
        if sharding is not None:
            shard(t, sharding)
        return t

    def param(self, name: str, value, dtype=None, sharding=None) -> Tensor:
        """A parameter (weight) with the given value (kept as is; its dtype is
        the array's unless ``dtype`` is given)."""
        self._check_name(name)
        arr = np.asarray(value)
        dt = _dtypes.canonical(dtype if dtype is not None else arr.dtype)
        arr = np.ascontiguousarray(arr, dtype=_dtypes.to_numpy(dt))
        t = self._add(name, dt, arr.shape, _callsite())
        self._params[name] = arr
        self._param_dtypes[name] = dt
        if sharding is not None:
            shard(t, sharding)
        return t

    def const(self, value, dtype="f32") -> Tensor:
        """A constant (scalars are shared per value and dtype)."""
        arr = np.asarray(value)
        dt = _dtypes.canonical(dtype)
        key = (dt, arr.shape, arr.tobytes()) if arr.size <= 16 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        t = self.param(self._fresh("const"), arr, dt)
        if key is not None:
            self._consts[key] = t
        return t

    def _lift(self, v, like: Tensor) -> Tensor:
        if isinstance(v, Tensor):
            if v.graph is not self:
                raise ValueError(f"{v!r} belongs to graph {v.graph.name!r}, not {self.name!r}")
            return v
        if isinstance(v, (bool, int, float, np.number, np.bool_)):
            return self.const(v, like.dtype)
        if isinstance(v, np.ndarray):
            return self.const(v, _dtypes.canonical(v.dtype))
        raise TypeError(f"cannot use {type(v).__name__} {v!r} as a tensor of graph {self.name!r}")

    def output(self, t: Tensor, name: str | None = None) -> Tensor:
        """Marks ``t`` as a graph output, named ``name`` (a tensor with another
        name is renamed if it is not an input or parameter, else copied
        through Identity)."""
        if not isinstance(t, Tensor) or t.graph is not self:
            raise TypeError(f"output() takes a Tensor of graph {self.name!r}, got {t!r}")
        if name is not None and name != t.name:
            self._check_name(name)
            if t.name in self._params or t.name in self._inputs or t.name in self._outputs:
                t = self._node("Identity", [t], name=name)
            else:
                self._rename(t, name)
        if t.name not in self._outputs:
            self._outputs.append(t.name)
        return t

    def _rename(self, t: Tensor, new: str) -> None:
        old = t.name
        for n in self._nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
            n.outputs = [new if o == old else o for o in n.outputs]
        self._tensors[new] = self._tensors.pop(old)
        self._defined_at[new] = self._defined_at.pop(old)
        if old in self.annotations:
            self.annotations[new] = self.annotations.pop(old)
        t.name = new

    # -- ops ---------------------------------------------------------------
    def _node(self, op: str, inputs: Sequence[Tensor | None], attrs: dict | None = None,
              num_outputs: int = 1, name: str | None = None):
        """Adds one node; returns its output (a tuple if num_outputs > 1)."""
        where = _callsite()
        for t in inputs:
            if t is not None and (not isinstance(t, Tensor) or t.graph is not self):
                raise TypeError(f"{op}: inputs must be Tensors of graph {self.name!r}, got {t!r}")
        if name is not None:
            self._check_name(name)
            outs = [name] + [f"{name}_{i}" for i in range(1, num_outputs)]
            for o in outs[1:]:
                self._check_name(o)
        else:
            outs = [self._fresh(op.lower()) for _ in range(num_outputs)]
        node = Node(op, [t.name if t is not None else "" for t in inputs], outs,
                    dict(attrs or {}), where)
        types = self._infer(node, inputs)
        self._nodes.append(node)
        results = tuple(self._add(n, dt, shape, where) for n, (_, dt, shape) in zip(outs, types))
        return results[0] if num_outputs == 1 else results

    def _infer(self, node: Node, inputs) -> list:
        seen, ins = set(), []
        for t in inputs:
            if t is not None and t.name not in seen:
                seen.add(t.name)
                ins.append({"name": t.name, "dtype": t.dtype, "shape": list(t.shape)})
        doc = {"format": "partita.graph", "version": 1, "name": self.name,
               "inputs": ins, "nodes": [node.to_json()], "outputs": list(node.outputs)}
        try:
            return _core().infer(json.dumps(doc), self.name)
        except CompileError as e:
            raise CompileError(e.message, f"{node.callsite} ({node.op} -> "
                               f"{', '.join(node.outputs)})", e.diagnostics) from None

    # -- export ------------------------------------------------------------
    def to_json(self, param_dir: str | None = None, inline_limit: int = 4096) -> dict:
        """The JSON graph IR (docs/json-format.md). Parameters with more than
        ``inline_limit`` elements go to ``param_dir/params.bin`` when a
        directory is given. Shardings are not included (compile() passes
        them with their priorities and open dimensions)."""
        if not self._outputs:
            raise CompileError(f"graph {self.name!r} has no outputs: mark them with "
                               f"g.output(tensor, name)", self.name)
        params = []
        blob = None
        for name, arr in self._params.items():
            dt = self._param_dtypes[name]
            p: dict[str, Any] = {"name": name, "dtype": dt, "shape": list(arr.shape)}
            if param_dir is not None and arr.size > inline_limit:
                if blob is None:
                    blob = open(os.path.join(param_dir, "params.bin"), "wb")
                p["file"] = os.path.join(param_dir, "params.bin")
                p["offset"] = blob.tell()
                blob.write(_raw_bytes(arr, dt))
            else:
                p["data"] = _json_data(arr, dt)
            params.append(p)
        if blob is not None:
            blob.close()
        return {
            "format": "partita.graph", "version": 1, "name": self.name,
            "inputs": [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape)}
                       for t in self.inputs],
            "parameters": params,
            "nodes": [n.to_json() for n in self._nodes],
            "outputs": list(self._outputs),
        }

    def node_callsite(self, index: int) -> str | None:
        """Where node ``index`` (1-based, as in diagnostics) was built."""
        if 1 <= index <= len(self._nodes):
            return self._nodes[index - 1].callsite
        return None

    def __repr__(self) -> str:
        return (f"Graph({self.name!r}: {len(self._inputs)} inputs, {len(self._params)} "
                f"parameters, {len(self._nodes)} nodes, {len(self._outputs)} outputs)")


def _json_data(arr: np.ndarray, dtype: str):
    flat = arr.reshape(-1)
    if dtype == "bool":
        return [bool(v) for v in flat]
    if _dtypes.is_float(dtype):
        out = []
        for v in flat.astype(np.float64):
            if math.isnan(v):
                out.append("nan")
            elif math.isinf(v):
                out.append("inf" if v > 0 else "-inf")
            else:
                out.append(float(v))
        return out
    return [int(v) for v in flat]


def _raw_bytes(arr: np.ndarray, dtype: str) -> bytes:
    if dtype == "bf16":
        bits = np.ascontiguousarray(arr, np.float32).view(np.uint32)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        nan = np.isnan(arr.astype(np.float32))
        rounded = np.where(nan, (bits >> 16) | 0x40, rounded)
        return rounded.astype("<u2").tobytes()
    if dtype == "bool":
        return arr.astype(np.uint8).tobytes()
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes()


def shard(t: Tensor, spec, priority: int | None = None) -> Tensor:
    """Annotates ``t`` (inside its graph) with a sharding: ``P("data", None)``,
    a list of per-dimension entries, or DTensor placements with the graph's
    mesh. Returns ``t``, so ``h = shard(x @ w, P(None, "model"))`` reads well."""
    if not isinstance(t, Tensor):
        raise TypeError(f"shard() takes a partita Tensor, got {t!r}")
    from .mesh import Replicate, Shard
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(p, (Shard, Replicate)) for p in spec):
        if t.graph.mesh is None:
            raise ValueError("DTensor placements need the graph's mesh: Graph(name, mesh=...)")
        spec = PartitionSpec.from_placements(spec, t.graph.mesh, t.ndim)
    spec = as_spec(spec)
    if priority is not None:
        spec = PartitionSpec(*spec, priority=priority)
    t.graph.annotations[t.name] = spec
    return t
