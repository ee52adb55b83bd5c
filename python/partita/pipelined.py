"""Pipelined inference from the frontend: ``compile(model, mesh=...,
pipeline=AXIS)`` runs the model through the schedule executor on MPI ranks
(``partita run --pipeline``, docs/pipeline.md)."""

from __future__ import annotations

import os

from .compiler import Compiled, _convert_inputs
from .mesh import Mesh


class Pipelined:
    """The result of ``compile(model, mesh=Mesh({"pipe": P, ...}),
    pipeline="pipe", stages=..., microbatches=M, schedule=...)``.

    ``run(inputs)`` takes the inputs of M microbatches -- the model's inputs
    with dimension 0 M times as large (microbatch m is rows m*b..(m+1)*b-1)
    -- runs them through the stages on ``mesh.size`` MPI ranks in the
    schedule's order (each stage an SPMD program over the mesh's other axes,
    with the model's annotations) and returns the outputs likewise.
    ``report`` holds the executor's summary of the last run (per rank the
    step and the time spent waiting for inputs)."""

    def __init__(self, model, mesh: Mesh, one_device: Compiled, model_file: str, flags: list,
                 shardings: dict, microbatches: int, keep: list):
        self.model = model
        self.mesh = mesh
        self.microbatches = microbatches
        self.report = ""
        self._one = one_device
        self._file = model_file
        self._flags = flags
        self._shardings = shardings
        self._keep = keep  # temporary files

    def run(self, inputs=None, *, check: bool = False, collective_timeout: float = 30.0,
            timeout: float | None = 600.0):
        """Runs one step of ``microbatches`` microbatches; returns the
        outputs as numpy arrays, in order. ``check`` also runs the model on
        one device, microbatch by microbatch, and raises ExecutionError when
        an output differs."""
        exe = self._one._executable()
        m = self.microbatches
        specs = [(n, dt, [shape[0] * m] + list(shape[1:]) if shape else shape, npname)
                 for n, dt, shape, npname in exe.inputs()]
        defaults = exe.defaults() if m == 1 else [None] * len(specs)
        arrays = _convert_inputs(specs, defaults, inputs)
        from ._launch import pipeline_ranks
        outputs, self.report = pipeline_ranks(
            self._file, self.mesh, self._flags + (["--check"] if check else []), arrays,
            shardings=self._shardings, collective_timeout=collective_timeout, timeout=timeout)
        return outputs

    def __repr__(self):
        return f"Pipelined({os.path.basename(self._file)!r}, mesh={self.mesh}, " \
               f"microbatches={self.microbatches})"
