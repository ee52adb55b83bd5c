"""train(): a model, a loss and an optimizer -> a compiled training step.

    t = pt.train(g, loss="cross_entropy", optimizer="adamw", lr=1e-3)
    for batch, labels in data:
        loss = t.step({"x": batch}, labels)
    w = t.parameters()["w1"]          # numpy, the current value

The step is graph-autodiff's (docs/training.md), compiled once for this
CPU; parameters and optimizer state stay in the compiled program's memory
between steps.

On a mesh (``pt.train(g, ..., mesh=Mesh({"data": 2}))``) the steps run on
one MPI rank per device, as ``partita train --mesh`` runs them: ``fit(inputs,
labels, steps)`` trains that many steps in one launch and returns their
losses; the trained parameters come back to ``parameters()``.
"""

from __future__ import annotations


import numpy as np

from ._errors import CompileError
from .compiler import _convert_inputs, _core, _model_file, _relocate, _source_of
from .mesh import PartitionSpec as P, as_mesh

LOSSES = ("mean", "sum", "mse", "cross_entropy")
OPTIMIZERS = ("none", "sgd", "adamw")


class Trainer:
    """A compiled training step with its parameters and optimizer state."""

    def __init__(self, model, core_trainer, keep, loss):
        self.model = model
        self.loss = loss
        self._t = core_trainer
        self._keep = keep  # temporary files the source refers to
        self.steps = 0

    @property
    def input_names(self) -> list[str]:
        return [n for n, *_ in self._t.inputs()]

    @property
    def takes_labels(self) -> bool:
        return self._t.labels() is not None

    def _batch(self, inputs, labels, call: str):
        """The step's input arrays and labels, converted and checked."""
        specs = self._t.inputs()
        arrays = _convert_inputs(specs, [None] * len(specs), inputs)
        label = None
        if self.takes_labels:
            if labels is None:
                raise ValueError(f"the {self.loss} loss takes labels: {call}(inputs, labels)")
            label, = _convert_inputs([self._t.labels()], [None], [labels])
        elif labels is not None:
            raise ValueError(f"the {self.loss} loss takes no labels")
        return arrays, label

    def step(self, inputs, labels=None) -> float:
        """One training step on ``inputs`` (a dict name -> array, a list in
        input order, or one array) and ``labels`` (for mse and
        cross_entropy); returns the loss before the update."""
        arrays, label = self._batch(inputs, labels, "step")
        loss = self._t.step(arrays, label)
        self.steps += 1
        if not np.isfinite(loss):
            from ._errors import ExecutionError
            raise ExecutionError(f"the loss is {loss} at step {self.steps}; training stopped")
        return loss

    def fit(self, inputs, labels=None, steps: int = 1) -> list[float]:
        """``steps`` training steps on the same batch; their losses."""
        return [self.step(inputs, labels) for _ in range(int(steps))]

    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter name (the initializer's) -> its current value."""
        return dict(self._t.parameters())

    def __repr__(self):
        return f"Trainer({getattr(self.model, 'name', '')!r}, loss={self.loss!r}, steps={self.steps})"


class MeshTrainer(Trainer):
    """A training step on a device mesh: ``fit`` launches the ranks."""

    def __init__(self, model, core_trainer, keep, loss, mesh, model_file, flags, shardings):
        super().__init__(model, core_trainer, keep, loss)
        self.mesh = mesh
        self._file = model_file
        self._flags = flags
        self._shardings = shardings
        self._params = dict(core_trainer.parameters())
        #: the last fit's output of ``partita train`` (per-rank report)
        self.report = ""

    def step(self, inputs, labels=None) -> float:
        raise NotImplementedError("on a mesh the steps run in one launch of the ranks: "
                                  "fit(inputs, labels, steps)")

    def fit(self, inputs, labels=None, steps: int = 1) -> list[float]:
        """``steps`` steps on ``mesh.size`` ranks (each fit starts from the
        model's initial parameters and fresh optimizer state); their losses."""
        from ._launch import train_ranks
        arrays, label = self._batch(inputs, labels, "fit")
        losses, self._params, self.report = train_ranks(
            self._file, self.mesh, self._flags, arrays, label, steps, shardings=self._shardings)
        self.steps += len(losses)
        return losses

    def parameters(self) -> dict[str, np.ndarray]:
        """After fit: the trained parameters (gathered); before: the initial ones."""
        return dict(self._params)


def _spec_json(spec) -> list:
    """A PartitionSpec as a --shardings entry: per dimension null, an axis or
    a list of axes ("?" for open)."""
    out = []
    for axes, open_ in (spec if isinstance(spec, P) else P(*spec)).dims():
        entry = list(axes) + (["?"] if open_ else [])
        out.append(None if not entry else entry[0] if len(entry) == 1 else entry)
    return out


def _mesh_flags(loss, optimizer, options, zero, strategy, cluster, check, pipeline=None):
    flags = ["--loss", loss, "--optimizer", optimizer, "--lr", repr(options["lr"]),
             "--momentum", repr(options["momentum"]),
             "--weight-decay", repr(options["weight_decay"]),
             "--clip-norm", repr(options["clip_norm"]),
             "--ignore-index", str(options["ignore_index"]),
             "--microbatches", str(options["microbatches"]),
             "--recompute", options["recompute"], "--precision", options["precision"]]
    if "output" in options:
        flags += ["--output", options["output"]]
    if zero:
        flags += ["--zero", str(int(zero))]
    if strategy == "auto":
        flags += ["--strategy", "auto"] + (["--cluster", cluster] if cluster else [])
    if check:
        flags.append("--check")
    if pipeline:
        axis, stages, schedule = pipeline
        flags += ["--pipeline", axis, "--stages", ",".join(stages) if stages else "auto",
                  "--schedule", schedule]
    return flags


def train(model, loss: str = "mean", optimizer: str = "sgd", *, lr: float = 1e-3,
          momentum: float = 0.0, weight_decay: float = 0.0, clip_norm: float = 0.0,
          output: str | None = None, ignore_index: int = -100, beta1: float = 0.9,
          beta2: float = 0.999, epsilon: float = 1e-8, microbatches: int = 1,
          recompute: str = "none", precision: str = "f32", mesh=None,
          shardings: dict | None = None, zero: int = 0, strategy: str = "none",
          cluster: str | None = None, check: bool = False, pipeline: str | None = None,
          stages=None, schedule: str = "1f1b") -> Trainer:
    """Builds and compiles the training step of ``model`` (a Graph or a
    loaded Model, e.g. from_torch): the floating-point initializers the loss
    reaches are trained. ``loss``: mean | sum (of the output) | mse |
    cross_entropy (int64 labels, ``ignore_index`` not counted) on
    ``output`` (default: the first). ``optimizer``: sgd (``momentum``,
    ``weight_decay`` as L2), adamw (decoupled ``weight_decay``) or none.
    ``clip_norm`` > 0 clips the gradients to that global norm.
    ``microbatches`` > 1 accumulates the gradients of that many of the
    model's batches into one update: ``step`` then takes inputs and labels
    K times as long along dimension 0 (microbatch m is rows m, m+K, ...).
    ``recompute``: none | selective (the attention core) | full (each named
    layer's activations but its outputs) are recomputed in the backward.
    ``precision="bf16"`` (or ``"f16"``, with a dynamic loss scale) runs the
    forward and backward in 16 bits with f32 master weights, optimizer
    state and loss.

    ``mesh`` (a Mesh or dict) trains on one MPI rank per device
    (MeshTrainer.fit): ``shardings`` maps tensor names to PartitionSpecs
    (with a Graph's own annotations), ``zero`` is the ZeRO stage over the
    ``data`` axis, ``strategy="auto"`` lets the planner choose the rest for
    ``cluster``, ``check`` compares every loss and trained weight with one
    device. ``pipeline`` names the mesh axis whose ranks are pipeline stages
    (docs/pipeline.md): ``stages`` lists the tensors after which a stage
    ends (default: chosen by the cost model), ``schedule`` is gpipe, 1f1b,
    interleaved:V, zb-h1, zb-h2 or zb-v (these two place V stages on each
    rank -- 2 for zb-v -- so ``stages`` names V * ranks - 1 boundaries),
    and ``microbatches`` counts the schedule's microbatches."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r} (expected one of {', '.join(LOSSES)})")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r} "
                         f"(expected one of {', '.join(OPTIMIZERS)})")
    if precision not in ("f32", "bf16", "f16"):
        raise ValueError(f"unknown precision {precision!r} (expected f32, bf16 or f16)")
    if recompute not in ("none", "selective", "full"):
        raise ValueError(f"unknown recompute {recompute!r} (expected none, selective or full)")
    if int(microbatches) < 1:
        raise ValueError(f"microbatches must be at least 1, got {microbatches}")
    keep: list = []
    kind, source, name, input_shapes, _ = _source_of(model, keep)
    options = {"loss": loss, "optimizer": optimizer, "lr": float(lr),
               "momentum": float(momentum), "weight_decay": float(weight_decay),
               "clip_norm": float(clip_norm), "ignore_index": int(ignore_index),
               "beta1": float(beta1), "beta2": float(beta2), "epsilon": float(epsilon),
               "microbatches": int(microbatches), "recompute": recompute,
               "precision": precision}
    if output is not None:
        options["output"] = output
    if strategy not in ("none", "auto"):
        raise ValueError(f"unknown strategy {strategy!r} (expected 'none' or 'auto')")
    if mesh is None and (shardings or zero or strategy == "auto" or check or pipeline):
        raise ValueError("shardings, zero, strategy, check and pipeline train on a mesh: "
                         "train(..., mesh=Mesh({...}))")
    if pipeline is not None and pipeline not in as_mesh(mesh).axes:
        raise ValueError(f"pipeline={pipeline!r} is not an axis of the mesh {as_mesh(mesh).flag()}")
    if stages is not None and isinstance(stages, str):
        stages = [stages]
    try:
        t = _core().Trainer(kind, source, name, input_shapes, options)
    except CompileError as e:
        raise _relocate(e, model) from None
    if mesh is None:
        return Trainer(model, t, keep, loss)
    mesh = as_mesh(mesh)
    model_file = _model_file(kind, source, name, keep, "be trained on a mesh")
    specs = dict(getattr(model, "annotations", {}))
    specs.update(shardings or {})
    as_json = {n: _spec_json(spec) for n, spec in specs.items()}
    flags = _mesh_flags(loss, optimizer, options, zero, strategy, cluster, check,
                        (pipeline, list(stages or []), schedule) if pipeline else None)
    return MeshTrainer(model, t, keep, loss, mesh, model_file, flags, as_json)
