//===- Passes.td - training-step construction -------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_AUTODIFF_PASSES_TD
#define PARTITA_PASSES_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"
include "passes/Autodiff/TrainingOptions.td"

def GraphAutodiff : Pass<"graph-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build a training step from @main, a loss and an optimizer";
  let description = [{
    Adds `@train_step` next to `@main` (docs/training.md): the floating-point
    initializers (rank >= 1) that the loss depends on become parameters,
    arguments in and updated values out; the loss is built on one of
    @main's outputs; every op on the path from a parameter to the loss
    contributes its vector-Jacobian product (GradientOpInterface); the
    optimizer's update and state are graph ops too.

    Arguments, in order: parameters (`graph.role = "parameter"`, their
    initializer's name and initial value in `graph.init`), optimizer state
    (`"state"`, zeros initially), @main's inputs (`"input"`), labels
    (`"label"`, for mse and cross_entropy), the step number (`"step"`, an
    f32 scalar counted from 1, for adamw). Results: the loss, the updated
    parameters and state (`graph.updates` = the argument they replace), and
    with `return-grads` each parameter's gradient (`graph.gradient_of`).

    With `microbatches` K > 1 the step accumulates gradients over K
    microbatches, each of the model's batch: every input and the labels of
    the step hold K times the model's batch along dimension 0, microbatch
    m being rows m, m+K, m+2K, ... (so a batch split over a data axis stays
    local); the forward and its backward run once per microbatch in order
    (one microbatch's activations live at a time), and the loss and
    gradients are the mean (the sum for `loss=sum`) over microbatches.

    An op on the path to the loss without a gradient rule is an error at
    the op.
  }];
  let options = !listconcat(LossOptions, OptimizerOptions, [
    Option<"microbatches", "microbatches", "unsigned", "1",
           "gradient accumulation over this many microbatches of the "
           "model's batch (the step's inputs hold K of them: rows m, m+K, "
           "...), one update">,
    Option<"recompute", "recompute", "std::string", "\"none\"",
           "activation recomputation per named layer: none | selective (the "
           "attention core: softmax back to the query-key matmul) | full (all "
           "but each layer's outputs)">,
    Option<"precision", "precision", "std::string", "\"f32\"",
           "f32 | bf16 | f16: the forward (and so the backward) in bf16 or "
           "f16 with f32 master weights, optimizer state and loss; "
           "normalizations, softmax and reductions in f32; f16 with a "
           "dynamic loss scale (state loss_scale, loss_scale.good_steps)">,
    Option<"returnGrads", "return-grads", "bool", "false",
           "also return every parameter's gradient">
  ]);
  let dependentDialects = ["::partita::graph::GraphDialect"];
}

#endif // PARTITA_PASSES_AUTODIFF_PASSES_TD
