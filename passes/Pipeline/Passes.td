//===- Passes.td - pipeline-parallel passes ---------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_PIPELINE_PASSES_TD
#define PARTITA_PASSES_PIPELINE_PASSES_TD

include "mlir/Pass/PassBase.td"

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

#endif // PARTITA_PASSES_PIPELINE_PASSES_TD
