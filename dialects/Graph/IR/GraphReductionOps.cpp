//===- GraphReductionOps.cpp - generated reduction op definitions --------------===//

#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphReductionOps.cpp.inc"
