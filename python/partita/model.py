"""Loaded models: ONNX files, PyTorch modules (through ONNX), JSON graphs;
annotation of their tensors by name."""

from __future__ import annotations

import difflib
import os
import tempfile
from typing import Mapping

from ._errors import CompileError
from .graph import Graph, Tensor, _callsite
from .mesh import Mesh, PartitionSpec, as_mesh, as_spec


def _core():
    from . import _core as core
    return core


class TensorInfo:
    """A named tensor of a model: kind is input, parameter or value."""

    __slots__ = ("name", "kind", "dtype", "shape")

    def __init__(self, name, kind, dtype, shape):
        self.name, self.kind, self.dtype, self.shape = name, kind, dtype, tuple(shape)

    def __repr__(self):
        return f"TensorInfo({self.name!r}, {self.kind}, {self.dtype}, {self.shape})"


class Model:
    """A model loaded from a file (ONNX, backend-test directory, JSON graph,
    MLIR). Annotate it with :func:`annotate` and pass it to
    :func:`partita.compile`."""

    def __init__(self, path: str, *, input_shapes: Mapping[str, tuple] | None = None,
                 composites: bool = False, name: str | None = None, _keep=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no such model file: {self.path!r}")
        self.name = name or os.path.splitext(os.path.basename(self.path.rstrip("/")))[0]
        self.input_shapes = {k: list(v) for k, v in (input_shapes or {}).items()}
        self.composites = composites
        self.mesh: Mesh | None = None
        #: tensor name -> PartitionSpec
        self.annotations: dict[str, PartitionSpec] = {}
        self._summary = None
        self._keep = _keep  # e.g. the temporary directory of from_torch

    # What compile() needs: (kind, source, name).
    def _source(self):
        return "file", self.path, self.path

    def _load_summary(self):
        if self._summary is None:
            kind, source, name = self._source()
            self._summary = _core().summarize(kind, source, name, self.input_shapes,
                                              self.composites)
        return self._summary

    @property
    def tensors(self) -> dict[str, TensorInfo]:
        """Every named tensor (imports the model on first use)."""
        return {n: TensorInfo(n, kind, _canon(dt), shape)
                for n, kind, (_, dt, shape) in self._load_summary()["tensors"]}

    @property
    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(n, "input", _canon(dt), s) for n, dt, s in self._load_summary()["inputs"]]

    @property
    def outputs(self) -> list[TensorInfo]:
        return [TensorInfo(n, "output", _canon(dt), s) for n, dt, s in self._load_summary()["outputs"]]

    def to_json(self) -> str:
        """The model as a Partita JSON graph (docs/json-format.md)."""
        kind, source, name = self._source()
        return _core().export_json(kind, source, name, self.input_shapes, self.composites)

    def __repr__(self):
        return f"Model({self.path!r})"


def _canon(dt: str) -> str:
    from . import _dtypes
    try:
        return _dtypes.canonical(dt)
    except ValueError:
        return dt


def load_onnx(path, *, input_shapes: Mapping[str, tuple] | None = None,
              composites: bool = False) -> Model:
    """Loads an ONNX model (or backend-test directory, JSON graph, MLIR file).

    ``input_shapes`` fixes dynamic input dimensions (``{"x": (1, 3, 224, 224)}``);
    ``composites=True`` recognizes attention in exported transformer graphs.
    """
    return Model(path, input_shapes=input_shapes, composites=composites)


def from_torch(module, example_inputs, *, input_names=None, output_names=None,
               opset: int = 17, composites: bool = True) -> Model:
    """Exports a ``torch.nn.Module`` with ``torch.onnx.export`` (static shapes
    from ``example_inputs``) and loads the ONNX file. Needs PyTorch."""
    try:
        import torch
    except ImportError as e:
        raise ImportError("from_torch needs PyTorch (Debian: python3-torch)") from e
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    tmp = tempfile.TemporaryDirectory(prefix="partita-torch-")
    path = os.path.join(tmp.name, "model.onnx")
    if input_names is None:
        input_names = [f"input_{i}" for i in range(len(example_inputs))]
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, tuple(example_inputs), path, input_names=list(input_names),
                          output_names=list(output_names) if output_names else None,
                          opset_version=opset, do_constant_folding=True)
    return Model(path, composites=composites,
                 name=getattr(type(module), "__name__", "torch_model"), _keep=tmp)


def _known_names(model) -> dict:
    if isinstance(model, Graph):
        return {n: t.shape for n, t in model._tensors.items()}
    return {n: t.shape for n, t in model.tensors.items()}


def annotate(model, specs: Mapping, mesh=None):
    """Annotates tensors of ``model`` (a :class:`Graph` or loaded
    :class:`Model`) by name: ``annotate(m, {"w1": P(None, "model")})``.
    Unknown names raise :class:`CompileError` naming close matches. Returns
    the model."""
    if not isinstance(model, (Graph, Model)):
        raise TypeError(f"annotate() takes a partita Graph or Model, got {model!r}")
    where = _callsite()
    known = _known_names(model)
    parsed = {}
    for name, spec in specs.items():
        if isinstance(name, Tensor):
            name = name.name
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise CompileError(f"no tensor named '{name}' in model '{model.name}'{hint}", where)
        parsed[name] = as_spec(spec)
    model.annotations.update(parsed)
    if mesh is not None:
        model.mesh = as_mesh(mesh)
    return model
