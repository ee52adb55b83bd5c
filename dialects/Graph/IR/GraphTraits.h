//===- GraphTraits.h - op traits of the graph dialect -----------*- C++ -*-===//

#ifndef PARTITA_DIALECTS_GRAPH_IR_GRAPHTRAITS_H
#define PARTITA_DIALECTS_GRAPH_IR_GRAPHTRAITS_H

#include "mlir/IR/OpDefinition.h"

namespace partita::graph::OpTrait {

/// Computed in f32 under mixed precision: graph-autodiff's precision=bf16
/// casts the op's floating-point operands up to f32 and its results back
/// (statistics, normalizations, softmax; GraphBase.td).
template <typename ConcreteType>
class FullPrecision : public mlir::OpTrait::TraitBase<ConcreteType, FullPrecision> {};

} // namespace partita::graph::OpTrait

#endif // PARTITA_DIALECTS_GRAPH_IR_GRAPHTRAITS_H
