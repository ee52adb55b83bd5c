//===- GraphOps.h - the graph dialect ---------------------------*- C++ -*-===//
//
// Include this header to use the graph dialect: it declares the dialect, its
// enums and attributes, and every op family.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_GRAPH_IR_GRAPHOPS_H
#define PARTITA_DIALECTS_GRAPH_IR_GRAPHOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Graph/IR/GraphTraits.h"

#include "dialects/Graph/IR/GraphDialect.h.inc"
#include "dialects/Graph/IR/GraphEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Graph/IR/GraphAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphElementwiseOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphReductionOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphNNOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphShapeOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphCompositeOps.h.inc"

#endif // PARTITA_DIALECTS_GRAPH_IR_GRAPHOPS_H
