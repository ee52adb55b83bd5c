"""train(): a model, a loss and an optimizer -> a compiled training step.

    t = pt.train(g, loss="cross_entropy", optimizer="adamw", lr=1e-3)
    for batch, labels in data:
        loss = t.step({"x": batch}, labels)
    w = t.parameters()["w1"]          # numpy, the current value

The step is graph-autodiff's (docs/training.md), compiled once for this
CPU; parameters and optimizer state stay in the compiled program's memory
between steps. Training on a mesh is `partita train --mesh` for now.
"""

from __future__ import annotations

import numpy as np

from ._errors import CompileError
from .compiler import _convert_inputs, _core, _relocate, _source_of

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

    def step(self, inputs, labels=None) -> float:
        """One training step on ``inputs`` (a dict name -> array, a list in
        input order, or one array) and ``labels`` (for mse and
        cross_entropy); returns the loss before the update."""
        specs = self._t.inputs()
        arrays = _convert_inputs(specs, [None] * len(specs), inputs)
        label = None
        if self.takes_labels:
            if labels is None:
                raise ValueError(f"the {self.loss} loss takes labels: step(inputs, labels)")
            label, = _convert_inputs([self._t.labels()], [None], [labels])
        elif labels is not None:
            raise ValueError(f"the {self.loss} loss takes no labels")
        loss = self._t.step(arrays, label)
        self.steps += 1
        if not np.isfinite(loss):
            from ._errors import ExecutionError
            raise ExecutionError(f"the loss is {loss} at step {self.steps}; training stopped")
        return loss

    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter name (the initializer's) -> its current value."""
        return dict(self._t.parameters())

    def __repr__(self):
        return f"Trainer({getattr(self.model, 'name', '')!r}, loss={self.loss!r}, steps={self.steps})"


def train(model, loss: str = "mean", optimizer: str = "sgd", *, lr: float = 1e-3,
          momentum: float = 0.0, weight_decay: float = 0.0, clip_norm: float = 0.0,
          output: str | None = None, ignore_index: int = -100, beta1: float = 0.9,
          beta2: float = 0.999, epsilon: float = 1e-8, microbatches: int = 1,
          recompute: str = "none", precision: str = "f32") -> Trainer:
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
    ``precision="bf16"`` runs the forward and backward in bf16 with f32
    master weights, optimizer state and loss."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r} (expected one of {', '.join(LOSSES)})")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r} "
                         f"(expected one of {', '.join(OPTIMIZERS)})")
    if precision not in ("f32", "bf16"):
        raise ValueError(f"unknown precision {precision!r} (expected f32 or bf16)")
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
    try:
        t = _core().Trainer(kind, source, name, input_shapes, options)
    except CompileError as e:
        raise _relocate(e, model) from None
    return Trainer(model, t, keep, loss)
