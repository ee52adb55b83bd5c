//===- CollectivesOps.h - the collectives dialect ---------------*- C++ -*-===//

#ifndef PARTITA_DIALECTS_COLLECTIVES_IR_COLLECTIVESOPS_H
#define PARTITA_DIALECTS_COLLECTIVES_IR_COLLECTIVESOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Collectives/IR/CollectivesDialect.h.inc"
#include "dialects/Collectives/IR/CollectivesEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Collectives/IR/CollectivesAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Collectives/IR/CollectivesOps.h.inc"

#endif // PARTITA_DIALECTS_COLLECTIVES_IR_COLLECTIVESOPS_H
