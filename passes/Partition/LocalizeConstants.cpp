//===- LocalizeConstants.cpp - fold per-rank slices of constants ----------===//
//
// axis_slice(constant) → the block of the constant at this rank's position
// in the slice's device group. Chains of slices (a weight split on two
// dimensions) fold one after the other. Only the local block is copied; the
// whole constant is dropped once nothing reads it.
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace partita::collectives;

namespace partita::sharding {
#define GEN_PASS_DEF_SHARDINGLOCALIZECONSTANTS
#include "passes/Partition/Passes.h.inc"

/// The block of a dense constant starting at `start` along `dim`, of
/// resultType's size there.
DenseElementsAttr sliceConstant(DenseElementsAttr attr, RankedTensorType resultType,
                                int64_t dim, int64_t start) {
  if (attr.isSplat())
    return attr.resizeSplat(resultType);
  auto type = cast<RankedTensorType>(attr.getType());
  ArrayRef<int64_t> shape = type.getShape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d)
    outer *= shape[d];
  for (int64_t d = dim + 1; d < (int64_t)shape.size(); ++d)
    inner *= shape[d];
  int64_t block = resultType.getDimSize(dim);
  Type elt = type.getElementType();
  if (elt.isInteger(1)) {
    auto values = attr.getValues<bool>();
    SmallVector<bool> out;
    out.reserve(resultType.getNumElements());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < block * inner; ++i)
        out.push_back(values[(o * shape[dim] + start) * inner + i]);
    return DenseElementsAttr::get(resultType, out);
  }
  // Copy raw bytes: contiguous runs of block * inner elements.
  int64_t eltBytes = elt.getIntOrFloatBitWidth() / 8;
  ArrayRef<char> raw = attr.getRawData();
  std::vector<char> out;
  out.reserve(resultType.getNumElements() * eltBytes);
  int64_t run = block * inner * eltBytes;
  for (int64_t o = 0; o < outer; ++o) {
    const char *src = raw.data() + ((o * shape[dim] + start) * inner) * eltBytes;
    out.insert(out.end(), src, src + run);
  }
  return DenseElementsAttr::getFromRawBuffer(resultType, out);
}

namespace {

struct LocalizeConstantsPass
    : impl::ShardingLocalizeConstantsBase<LocalizeConstantsPass> {
  using ShardingLocalizeConstantsBase::ShardingLocalizeConstantsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MeshOp meshOp;
    for (auto m : module.getOps<MeshOp>()) {
      meshOp = m;
      break;
    }
    if (!meshOp)
      return;
    MeshAttr mesh = meshOp.getMesh();
    // This rank's coordinate on every mesh axis (first axis most significant).
    llvm::StringMap<int64_t> coord;
    int64_t r = rank;
    for (int64_t i = (int64_t)mesh.getNames().size() - 1; i >= 0; --i) {
      coord[mesh.getNames()[i].getValue()] = r % mesh.getSizes()[i];
      r /= mesh.getSizes()[i];
    }
    if (rank < 0 || r != 0) {
      module.emitError() << "rank " << static_cast<int64_t>(rank) << " is outside the mesh of "
                         << mesh.getNumDevices() << " devices";
      return signalPassFailure();
    }
    for (bool changed = true; changed;) {
      changed = false;
      SmallVector<AxisSliceOp> slices;
      module.walk([&](AxisSliceOp s) {
        if (s.getInput().getDefiningOp<graph::ConstantOp>())
          slices.push_back(s);
      });
      for (AxisSliceOp s : slices) {
        DenseElementsAttr attr;
        if (!matchPattern(s.getInput(), m_Constant(&attr)))
          continue;
        int64_t position = 0;
        for (Attribute a : s.getAxes()) {
          StringRef axis = cast<StringAttr>(a).getValue();
          position = position * *mesh.getAxisSize(axis) + coord[axis];
        }
        DenseElementsAttr block =
            sliceConstant(attr, s.getType(), s.getDim(), position * s.getType().getDimSize(s.getDim()));
        OpBuilder b(s);
        auto local = graph::ConstantOp::create(b, s.getLoc(), s.getType(), block);
        Operation *def = s.getInput().getDefiningOp();
        s.getResult().replaceAllUsesWith(local.getResult());
        s.erase();
        if (def->use_empty())
          def->erase();
        changed = true;
      }
    }
  }
};

} // namespace
} // namespace partita::sharding
