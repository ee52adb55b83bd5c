//===- Passes.td - graph to upstream dialects -------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_LOWERING_PASSES_TD
#define PARTITA_PASSES_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertGraphToLinalg : Pass<"convert-graph-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower graph ops to linalg/tensor/arith/math on tensors";
  let description = [{
    Rewrites every primitive graph op into upstream linalg, tensor, arith,
    math and scf ops on tensors with exact ONNX semantics (numpy
    broadcasting, truncating integer division, sign-of-divisor modulo,
    unsigned comparisons and conversions, ...), ready for one-shot
    bufferization. Unsigned element types become signless integers of the
    same width; the signedness survives in the choice of arith ops, and
    function signatures are converted accordingly.

    Composite ops (attention, MoE) are not lowered here: run
    `graph-expand-composites` first (the `graph-to-linalg` pipeline does).
    An op that has no lowering, or a configuration of it that is not
    supported, fails the pass with one error at the op:
    `graph.X cannot be lowered to linalg yet`. docs/lowering.md lists what
    lowers how.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"];
}

#endif // PARTITA_PASSES_LOWERING_PASSES_TD
