//===- RoutedExperts.h - per-expert NonZero routing into MoE ops -*- C++ -*-===//
//
// Exporters turn a mixture-of-experts layer written as a Python loop over
// experts (Hugging Face's Mixtral, Qwen-MoE, OLMoE blocks) into one
// data-dependent branch per expert:
//
//   mask_e   = (top-k indices == e)           OneHot/Transpose/Gather or Equal
//   slot, t  = NonZero(mask_e)                the assignments routed to e
//   y_e      = FFN_e(tokens[t]) * weights[t, slot]
//   out     += ScatterElements(zeros, t, y_e) index_add over the tokens
//
// The graph dialect is statically shaped, so this file rewrites each such
// block, before the ops are built, into the MoE composites with dropless
// capacity (docs/experts.md):
//
//   MoeDispatch(tokens, indices) -> [E, T, H]
//   the expert FFN once over all experts, its per-expert weights stacked
//   (MatMul with a stacked weight becomes MoeExpertMatMul)
//   MoeCombine(expert outputs, weights, indices) -> [T, H]
//
// which computes the same sum. A NonZero outside such a block is one
// diagnostic naming the node and what did not match.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_ROUTEDEXPERTS_H
#define PARTITA_LIB_IMPORT_ROUTEDEXPERTS_H

#include "GraphDriver.h"

namespace partita::import {

/// Rewrites every routed-experts block of `g` (nodes in topological
/// `order`) into MoE composites. Returns failure after one diagnostic when
/// a NonZero is not part of a block it can rewrite; leaves graphs without
/// NonZero untouched.
mlir::LogicalResult rewriteRoutedExperts(mlir::MLIRContext &ctx, GraphDesc &g,
                                         const std::vector<size_t> &order);

} // namespace partita::import

#endif // PARTITA_LIB_IMPORT_ROUTEDEXPERTS_H
