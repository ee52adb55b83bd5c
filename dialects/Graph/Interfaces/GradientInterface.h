//===- GradientInterface.h - reverse-mode rules of graph ops ----*- C++ -*-===//

#ifndef PARTITA_DIALECTS_GRAPH_INTERFACES_GRADIENTINTERFACE_H
#define PARTITA_DIALECTS_GRAPH_INTERFACES_GRADIENTINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "dialects/Graph/Interfaces/GradientInterface.h.inc"

#endif // PARTITA_DIALECTS_GRAPH_INTERFACES_GRADIENTINTERFACE_H
