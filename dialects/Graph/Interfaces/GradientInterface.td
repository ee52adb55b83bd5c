//===- GradientInterface.td - reverse-mode rules as an op interface -*- tablegen -*-===//

#ifndef PARTITA_GRAPH_GRADIENT_INTERFACE_TD
#define PARTITA_GRAPH_GRADIENT_INTERFACE_TD

include "mlir/IR/OpBase.td"

def Graph_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let description = [{
    The op's vector-Jacobian product: given the cotangent of each result,
    builds the cotangent of each operand from graph ops (which have shape
    and sharding rules of their own, so propagation shards gradients with no
    special case). Ops with no gradient (comparisons, logical and integer
    ops, arg max, rounding) attach the interface too and say so; an op
    without the interface on the path to a loss is an error
    (graph-autodiff). The rules live in dialects/Graph/Gradients/, one file
    per op family.
  }];
  let cppNamespace = "::partita::graph";
  let methods = [
    StaticInterfaceMethod<[{Whether the op has a gradient rule (false: it is
      declared to have no gradient), without an instance.}],
      "bool", "hasGradientRule", (ins)>,
    InterfaceMethod<[{Whether cotangents flow through the op. False for ops
      whose results are piecewise constant in their operands or not
      floating point: their operands get no cotangent from them.}],
      "bool", "isDifferentiable", (ins)>,
    InterfaceMethod<[{Builds, at the builder's insertion point, the cotangent
      of every operand: `resultGrads` has one entry per result (null where
      no cotangent flows); `operandGrads` comes sized to the operands and
      null, and a rule sets the entries of the operands that take one (each
      of its operand's type). Fails after a diagnostic at the op.}],
      "::mlir::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // PARTITA_GRAPH_GRADIENT_INTERFACE_TD
