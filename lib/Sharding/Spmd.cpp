//===- Spmd.cpp - the SPMD program of an annotated module -----------------===//

#include "partita/Sharding/Spmd.h"

#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace partita {

LogicalResult runPassPipeline(ModuleOp module, StringRef pipeline) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  std::string err;
  llvm::raw_string_ostream os(err);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    return emitError(module.getLoc()) << "cannot build '" << pipeline << "': " << err;
  return pm.run(module);
}

LogicalResult partitionSpmd(ModuleOp module, const SpmdOptions &options) {
  std::string pipeline;
  // Composite ops (attention) partition whole; a build without the graph
  // passes partitions the primitive ops.
  if (PassInfo::lookup("graph-recognize-composites"))
    pipeline += "graph-recognize-composites,";
  pipeline += "sharding-propagate";
  if (options.conservative)
    pipeline += "{conservative=true}";
  pipeline += ",sharding-partition,collectives-simplify";
  return runPassPipeline(module, pipeline);
}

LogicalResult localizeConstants(ModuleOp module, int64_t rank) {
  return runPassPipeline(module,
                         "sharding-localize-constants{rank=" + std::to_string(rank) + "}");
}

void dropShardings(ModuleOp module) {
  using namespace sharding;
  module.walk([](Operation *op) {
    if (isa<ConstraintOp, ReshardOp>(op)) {
      op->getResult(0).replaceAllUsesWith(op->getOperand(0));
      op->erase();
      return;
    }
    op->removeAttr(kShardingsAttr);
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      for (unsigned i = 0; i < func.getNumArguments(); ++i) {
        func.removeArgAttr(i, kShardingAttr);
        func.removeArgAttr(i, kPartitionedAttr);
      }
      for (unsigned i = 0; i < func.getNumResults(); ++i) {
        func.removeResultAttr(i, StringAttr::get(func.getContext(), kShardingAttr));
        func.removeResultAttr(i, StringAttr::get(func.getContext(), kPartitionedAttr));
      }
    }
  });
  for (auto mesh : llvm::make_early_inc_range(module.getOps<MeshOp>()))
    mesh.erase();
}

} // namespace partita
