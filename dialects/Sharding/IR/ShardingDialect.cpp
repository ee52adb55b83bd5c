//===- ShardingDialect.cpp - sharding dialect registration ----------------===//

#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace partita::sharding;

#include "dialects/Sharding/IR/ShardingDialect.cpp.inc"
#include "dialects/Sharding/IR/ShardingInterfaces.cpp.inc"

static LogicalResult verifyValueAttr(Operation *op, Type type, NamedAttribute attr,
                                     StringRef what) {
  if (attr.getName() != kShardingAttr)
    return success();
  auto sharding = dyn_cast<TensorShardingAttr>(attr.getValue());
  if (!sharding)
    return op->emitError() << "'" << kShardingAttr
                           << "' must be a #sharding.tensor attribute";
  return verifySharding(sharding, type, op, what);
}

LogicalResult ShardingDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                        unsigned argIndex,
                                                        NamedAttribute attr) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return success();
  return verifyValueAttr(op, func.getArgumentTypes()[argIndex], attr,
                         ("argument #" + Twine(argIndex)).str());
}

LogicalResult ShardingDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                           unsigned resultIndex,
                                                           NamedAttribute attr) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return success();
  return verifyValueAttr(op, func.getResultTypes()[resultIndex], attr,
                         ("result #" + Twine(resultIndex)).str());
}
