//===- GraphCompositeOps.td - attention and mixture of experts -*- tablegen -*-===//
//
// Composite ops keep structure that partitioning must see whole: attention
// (head and sequence parallelism) and the mixture-of-experts pieces (expert
// parallelism). `graph-recognize-composites` forms them from primitive ops;
// `graph-expand-composites` lowers them back to primitive graph ops.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_GRAPH_COMPOSITE_OPS_TD
#define PARTITA_GRAPH_COMPOSITE_OPS_TD

include "dialects/Graph/IR/GraphBase.td"

def Graph_AttentionOp : Graph_Op<"attention", "inferAttention(loc, operands, results)"> {
  let summary = "scaled dot-product attention";
  let description = [{
    output = softmax(scale * q @ k^T + mask) @ v over the last two
    dimensions. q: [..., Sq, D], k: [..., Sk, D], v: [..., Sk, Dv] with equal
    leading (batch, head) dimensions; the result is [..., Sq, Dv]. The
    optional mask is additive and broadcasts to [..., Sq, Sk]. With `causal`,
    query i attends to keys j <= i + (Sk - Sq).
  }];
  let arguments = (ins Graph_FloatTensor:$q, Graph_FloatTensor:$k,
                       Graph_FloatTensor:$v, Optional<Graph_FloatTensor>:$mask,
                       F64Attr:$scale,
                       DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_MoeGateOp : Graph_Op<"moe_gate", "inferMoeGate(loc, operands, attrs, results)"> {
  let summary = "top-k routing of tokens to experts";
  let description = [{
    logits: [T, E]. Computes p = softmax(logits) over experts, picks the k
    largest per token (ties to the lower expert index) and returns their
    probabilities (renormalized to sum to 1 when `normalize`) and expert
    indices, both [T, k], in descending order of probability.
  }];
  let arguments = (ins Graph_FloatTensor:$logits, I64Attr:$k,
                       DefaultValuedAttr<BoolAttr, "false">:$normalize);
  let results = (outs Graph_FloatTensor:$weights,
                      StaticShapeTensorOf<[I64]>:$indices);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_MoeDispatchOp : Graph_Op<"moe_dispatch",
    "inferMoeDispatch(loc, operands, attrs, results)"> {
  let summary = "scatters tokens into per-expert buffers of fixed capacity";
  let description = [{
    tokens: [T, H], indices: [T, k] -> [E, G*C, H] with G = `groups`
    (GShard's groups: tokens [g*T/G, (g+1)*T/G) form group g) and C =
    `capacity` per group. Assignment (t, j) of group g goes to expert
    e = indices[t, j] at slot g*C + s, s = the number of earlier assignments
    of group g to e in (t, j) row-major order; assignments with s >= C are
    dropped. Unused slots are zero. `dropless` marks C = T/G (nothing can
    drop), so that any G gives the same results: partitioning may pick it.
    With `priority` ([T, k], e.g. the gate weights) the slots are filled by
    probability instead of position: s counts the assignments of group g
    to e with a higher priority, or an equal one earlier, so the most
    confident assignments are kept (the combine takes the same priority).
  }];
  let arguments = (ins Graph_FloatTensor:$tokens,
                       StaticShapeTensorOf<[I64]>:$indices,
                       Optional<Graph_FloatTensor>:$priority,
                       I64Attr:$num_experts, I64Attr:$capacity,
                       DefaultValuedAttr<I64Attr, "1">:$groups,
                       DefaultValuedAttr<BoolAttr, "false">:$dropless);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_MoeExpertMatMulOp : Graph_Op<"moe_expert_matmul",
    "inferMoeExpertMatMul(loc, operands, results)"> {
  let summary = "one matmul per expert: [E, C, H] x [E, H, F] -> [E, C, F]";
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_MoeCombineOp : Graph_Op<"moe_combine",
    "inferMoeCombine(loc, operands, attrs, results)"> {
  let summary = "gathers expert outputs back to tokens, weighted by the gate";
  let description = [{
    expert_out: [E, G*C, H], weights: [T, k], indices: [T, k] -> [T, H]:
    out[t] = sum_j weights[t, j] * expert_out[indices[t, j], s(t, j)], with the
    slot s as in moe_dispatch with the same `groups` (and `priority`) and
    dropped assignments contributing zero.
  }];
  let arguments = (ins Graph_FloatTensor:$expert_out, Graph_FloatTensor:$weights,
                       StaticShapeTensorOf<[I64]>:$indices,
                       Optional<Graph_FloatTensor>:$priority,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

#endif // PARTITA_GRAPH_COMPOSITE_OPS_TD
