//===- Passes.td - graph-level passes ---------------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_GRAPH_PASSES_TD
#define PARTITA_PASSES_GRAPH_PASSES_TD

include "mlir/Pass/PassBase.td"

def GraphRecognizeComposites : Pass<"graph-recognize-composites"> {
  let summary = "Form graph.attention from matmul-softmax-matmul chains";
  let description = [{
    Exporters such as torch.onnx.export spell scaled dot-product attention as
    MatMul(Q, Transpose(K)) -> Mul/Div by a scalar -> [Add mask | Where
    causal] -> Softmax(last axis) -> MatMul(., V). Partitioning must see
    attention whole (to split heads or the sequence), so this pass folds such
    chains into one graph.attention. A constant mask that is exactly causal
    (zero on and below the diagonal, -inf or a very negative value above)
    becomes `causal = true`; any other mask stays an operand. Intermediate
    values used elsewhere block the rewrite.
  }];
  let dependentDialects = ["::partita::graph::GraphDialect"];
}

def GraphExpandComposites : Pass<"graph-expand-composites"> {
  let summary = "Lower composite graph ops to primitive graph ops";
  let description = [{
    Rewrites graph.attention into matmul/transpose/mul/add/softmax/matmul and
    the mixture-of-experts ops into one_hot/cumsum/einsum-based primitives
    (GShard-style dispatch and combine masks), for backends that have no
    fused kernel for them.
  }];
  let dependentDialects = ["::partita::graph::GraphDialect"];
}

#endif // PARTITA_PASSES_GRAPH_PASSES_TD
