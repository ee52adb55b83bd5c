//===- Passes.td - pipeline-parallel passes ---------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_PIPELINE_PASSES_TD
#define PARTITA_PASSES_PIPELINE_PASSES_TD

include "mlir/Pass/PassBase.td"
include "passes/Autodiff/TrainingOptions.td"

def PipelineSplit : Pass<"pipeline-split", "::mlir::ModuleOp"> {
  let summary = "Split @main into one function per pipeline stage";
  let description = [{
    Cuts the function's body, in program order, after the op that computes
    each tensor named in `stages` (N names give N + 1 stages) and moves each
    piece into a function `@<function>_stage<k>` with `pipeline.stage = k`.
    The stages form a chain: stage 0 takes the function's inputs, stage
    k + 1 takes exactly what stage k gives, and stage k gives every value
    defined up to it that a later stage or the result uses (a value skipping
    stages, such as a residual or an input used late, is relayed through
    them), so every transfer is between neighbouring stages, as the
    schedules' point-to-point actions are. Each argument and result
    carries the tensor's name (`graph.name`). Operand-free ops (weights and
    other constants) are cloned into every stage that uses them: a weight
    used by two stages (tied embedding and LM head) is marked
    `pipeline.tied` in both, whose gradients the schedule executor must
    reduce between the owning stages.

    The function itself becomes the chain of calls, so the module still
    computes the same results on one device.

    Failures, one line each: an unknown tensor, an input named as a
    boundary, boundaries out of model order, a stage with no op.
  }];
  let options = [
    ListOption<"stages", "stages", "std::string",
               "Tensors after which a stage ends, in model order">,
    Option<"function", "function", "std::string", "\"main\"",
           "The function to split">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def PipelineStageTraining : Pass<"pipeline-stage-training", "::mlir::ModuleOp"> {
  let summary = "Build each pipeline stage's forward, backward and update functions";
  let description = [{
    After pipeline-split, adds next to every stage function `@S` (stage k
    of n) the functions a training schedule's actions run
    (docs/pipeline.md):

    - `@S_forward` (F): the stage with its weights as arguments.
      Arguments: the parameters (`graph.role = "parameter"`, `graph.name`
      the initializer's, `graph.init` its value, `pipeline.tied` where
      another stage shares it), then the stage's inputs (`"input"`). Stage
      n - 1 also takes the labels (`"label"`, for mse and cross_entropy)
      and gives only the loss of one microbatch.
    - `@S_backward` (B): the same arguments, then for stages before the
      last the gradient of each floating-point result (`"output_grad"`).
      It recomputes the forward (the schedule keeps only the stage's
      inputs per microbatch) and gives the gradient of each
      floating-point input (none for stage 0), then of each parameter
      (`graph.gradient_of` = its argument).
    - With `split-backward`, `@S_backward_input` (I, the input gradients)
      and `@S_backward_weight` (W, the parameter gradients) instead, for
      the zero-bubble schedules. They share no work: I also gives the
      values the weight gradients take from the part both need (forward
      activations, cotangents; results `"saved"`), and W takes them as
      extra arguments (`"saved"`, same order) after B's.
    - `@S_update`: parameters, optimizer state (`"state"`, zeros
      initially), gradients (`"gradient"`), the step (`"step"`, adamw) ->
      updated parameters and state (`graph.updates`). Gradients arrive
      summed over the step's microbatches and scaled; clipping to a
      global norm spans every stage, so the executor does it
      (`clip-norm` is refused here).

    Weights a stage's results do not reach through differentiable ops stay
    constants. An op on the path without a gradient rule is an error at
    the op; so are a module without stage functions and an unknown loss
    or optimizer.
  }];
  let options = !listconcat(LossOptions, OptimizerOptions, [
    Option<"splitBackward", "split-backward", "bool", "false",
           "build I and W functions (zero-bubble schedules) instead of B">
  ]);
  let dependentDialects = ["::partita::graph::GraphDialect"];
}

#endif // PARTITA_PASSES_PIPELINE_PASSES_TD
