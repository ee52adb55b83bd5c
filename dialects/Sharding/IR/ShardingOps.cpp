//===- ShardingOps.cpp - sharding op verifiers ----------------------------===//

#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

#define GET_OP_CLASSES
#include "dialects/Sharding/IR/ShardingOps.cpp.inc"

namespace partita::sharding {

MeshAttr lookupMesh(TensorShardingAttr sharding, Operation *anchor) {
  auto mesh = SymbolTable::lookupNearestSymbolFrom<MeshOp>(anchor, sharding.getMesh());
  if (!mesh) {
    anchor->emitError() << "unknown mesh " << sharding.getMesh();
    return {};
  }
  return mesh.getMesh();
}

LogicalResult verifySharding(TensorShardingAttr sharding, Type type,
                             Operation *anchor, StringRef what) {
  MeshAttr mesh = lookupMesh(sharding, anchor);
  if (!mesh)
    return failure();
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return anchor->emitError() << what << " is not a ranked tensor and cannot be sharded";
  if ((int64_t)sharding.getDims().size() != tensor.getRank())
    return anchor->emitError() << "sharding of " << what << " has "
                               << sharding.getDims().size()
                               << " dimensions but the tensor has rank "
                               << tensor.getRank();
  llvm::StringSet<> used;
  auto checkAxis = [&](StringAttr axis) -> LogicalResult {
    if (!mesh.getAxisSize(axis.getValue())) {
      std::string known;
      for (StringAttr n : mesh.getNames())
        known += (known.empty() ? "" : ", ") + n.getValue().str();
      return anchor->emitError() << "unknown axis \"" << axis.getValue()
                                 << "\" in the sharding of " << what << " (mesh "
                                 << sharding.getMesh() << " has axes " << known << ")";
    }
    if (!used.insert(axis.getValue()).second)
      return anchor->emitError() << "axis \"" << axis.getValue()
                                 << "\" is used twice in the sharding of " << what;
    return success();
  };
  for (auto [d, dim] : llvm::enumerate(sharding.getDims())) {
    int64_t product = 1;
    for (StringAttr a : dim.getAxes()) {
      if (failed(checkAxis(a)))
        return failure();
      product *= *mesh.getAxisSize(a.getValue());
    }
    if (tensor.getDimSize(d) % product != 0)
      return anchor->emitError() << "dimension " << d << " of " << what
                                 << " has size " << tensor.getDimSize(d)
                                 << ", not divisible by " << product
                                 << " (the product of its mesh axes)";
  }
  for (StringAttr a : sharding.getReplicated())
    if (failed(checkAxis(a)))
      return failure();
  for (StringAttr a : sharding.getUnreduced())
    if (failed(checkAxis(a)))
      return failure();
  return success();
}

LogicalResult ConstraintOp::verify() {
  return verifySharding(getSharding(), getInput().getType(), *this, "the constrained value");
}

LogicalResult ReshardOp::verify() {
  return verifySharding(getSharding(), getInput().getType(), *this, "the resharded value");
}

/// The per-device type of `type` under `sharding` for the `manual` axes.
static FailureOr<RankedTensorType> localType(RankedTensorType type,
                                             TensorShardingAttr sharding,
                                             MeshAttr mesh, ArrayAttr manual) {
  SmallVector<int64_t> shape(type.getShape());
  for (auto [d, dim] : llvm::enumerate(sharding.getDims()))
    for (StringAttr a : dim.getAxes())
      if (llvm::is_contained(manual.getValue(), a))
        shape[d] /= *mesh.getAxisSize(a.getValue());
  return RankedTensorType::get(shape, type.getElementType());
}

LogicalResult ManualComputationOp::verify() {
  if (getInShardings().size() != getInputs().size() ||
      getOutShardings().size() != getResults().size())
    return emitOpError() << "needs one sharding per input and per result";
  for (Attribute a : getManualAxes())
    if (!isa<StringAttr>(a))
      return emitOpError() << "manual_axes must be a list of axis names";
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << body.getNumArguments()
                         << " arguments, expected " << getInputs().size();
  auto check = [&](Type global, Type local, Attribute attr, StringRef what,
                   unsigned i) -> LogicalResult {
    auto sharding = cast<TensorShardingAttr>(attr);
    std::string name = (what + " #" + Twine(i)).str();
    if (failed(verifySharding(sharding, global, *this, name)))
      return failure();
    MeshAttr mesh = lookupMesh(sharding, *this);
    auto expect = localType(cast<RankedTensorType>(global), sharding, mesh, getManualAxes());
    if (failed(expect) || *expect != local)
      return emitOpError() << name << " has local type " << local << " but its sharding "
                           << "over the manual axes gives " << *expect;
    return success();
  };
  for (unsigned i = 0; i < getInputs().size(); ++i)
    if (failed(check(getInputs()[i].getType(), body.getArgument(i).getType(),
                     getInShardings()[i], "input", i)))
      return failure();
  auto ret = cast<ReturnOp>(body.getTerminator());
  if (ret.getValues().size() != getResults().size())
    return emitOpError() << "body returns " << ret.getValues().size()
                         << " values, expected " << getResults().size();
  for (unsigned i = 0; i < getResults().size(); ++i)
    if (failed(check(getResult(i).getType(), ret.getValues()[i].getType(),
                     getOutShardings()[i], "result", i)))
      return failure();
  return success();
}

} // namespace partita::sharding
