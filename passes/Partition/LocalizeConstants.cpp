//===- LocalizeConstants.cpp - fold per-rank slices of constants ----------===//
//
// axis_slice(constant) → the block of the constant at this rank's position
// in the slice's device group. A chain of slices (a weight split on two
// dimensions) reads its final block in one pass. Only the local block is
// copied; the whole constant is dropped once nothing reads it. Constants
// still backed by resource blobs (weights the importer mapped from the
// model file) become dense copies, so that the caller can release every
// blob (graph::releaseUnreferencedBlobs): the rank keeps only the weights
// it computes with.
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialects/Graph/IR/ConstantStorage.h"
#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace partita::collectives;

namespace partita::sharding {
#define GEN_PASS_DEF_SHARDINGLOCALIZECONSTANTS
#include "passes/Partition/Passes.h.inc"

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
    if (!meshOp) {
      graph::materializeResourceConstants(module);
      return;
    }
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
    // The block of a chain of slices ending at `s`, in the coordinates of
    // the constant the chain starts from (null if it does not start at one).
    auto blockOf = [&](AxisSliceOp s, SmallVector<int64_t> &offsets) -> ElementsAttr {
      SmallVector<AxisSliceOp> chain;
      Value v = s.getResult();
      while (auto link = v.getDefiningOp<AxisSliceOp>()) {
        chain.push_back(link);
        v = link.getInput();
      }
      auto constant = v.getDefiningOp<graph::ConstantOp>();
      if (!constant)
        return nullptr;
      offsets.assign(s.getType().getRank(), 0);
      for (AxisSliceOp link : chain) {
        int64_t position = 0;
        for (Attribute a : link.getAxes()) {
          StringRef axis = cast<StringAttr>(a).getValue();
          position = position * *mesh.getAxisSize(axis) + coord[axis];
        }
        offsets[link.getDim()] += position * link.getType().getDimSize(link.getDim());
      }
      return constant.getValue();
    };
    // Outermost slices first, so a chain is read once, not link by link.
    for (bool changed = true; changed;) {
      changed = false;
      SmallVector<AxisSliceOp> slices;
      module.walk([&](AxisSliceOp s) {
        bool onlySliced = !s->use_empty() && llvm::all_of(s->getUsers(), [](Operation *u) {
          return isa<AxisSliceOp>(u);
        });
        if (!onlySliced)
          slices.push_back(s);
      });
      for (AxisSliceOp s : slices) {
        SmallVector<int64_t> offsets;
        ElementsAttr whole = blockOf(s, offsets);
        if (!whole)
          continue;
        ElementsAttr block = graph::readBlock(whole, s.getType(), offsets);
        if (!block) {
          s.emitError("cannot read the local block of this constant");
          return signalPassFailure();
        }
        OpBuilder b(s);
        auto local = graph::ConstantOp::create(b, s.getLoc(), s.getType(), block);
        s.getResult().replaceAllUsesWith(local.getResult());
        // The chain, and its constant, once nothing else reads them.
        for (Operation *op = s; op && op->use_empty();) {
          Operation *def = op->getNumOperands() ? op->getOperand(0).getDefiningOp() : nullptr;
          op->erase();
          op = def;
        }
        changed = true;
      }
    }
    graph::materializeResourceConstants(module);
  }
};

} // namespace
} // namespace partita::sharding
