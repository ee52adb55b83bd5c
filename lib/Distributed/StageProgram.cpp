//===- StageProgram.cpp - one rank's stage, split and partitioned ---------===//
//
// With the pipeline axis alone a rank runs its stage function as it is.
// With other mesh axes (pipe=2,model=2) each stage is an SPMD program over
// them: the user's annotations are attached to the whole model, the model
// is split, and propagation runs over the split module -- it follows the
// calls of @main's chain, so a value crossing a boundary gets one sharding
// on both sides. Each stage's results are then given exactly the layouts
// the next stage's arguments expect (the partitioner reshards to them where
// the propagation left them otherwise), so what one rank sends is the block
// its neighbour on the pipeline axis -- same coordinates on the other axes
// -- receives. The rank keeps its stage, partitions it, cuts its weights
// to its block and numbers its collectives' groups by the table every rank
// registers (stageGroupTable).
//
//===----------------------------------------------------------------------===//

#include "PipelineSupport.h"

#include "dialects/Sharding/IR/ShardingOps.h"
#include "partita/Sharding/Spmd.h"
#include "passes/Runtime/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace partita::pipelined {

LogicalResult splitAndPropagate(ModuleOp module, const PipelineSetup &setup,
                                const PipelineRunOptions &pipe, bool composites) {
  bool spmd = !setup.sub.axes.empty();
  std::string passes;
  if (spmd) {
    if (failed(applyShardingAnnotations(module, setup.sub, setup.specs,
                                        setup.specsSource)))
      return failure();
    if (composites && PassInfo::lookup("graph-recognize-composites"))
      passes += "graph-recognize-composites,";
  }
  if (!pipe.stages.empty())
    passes += "pipeline-split{stages=" + llvm::join(pipe.stages, ",") + "},";
  if (spmd)
    passes += "sharding-propagate,";
  if (!passes.empty()) {
    passes.pop_back();
    if (failed(runPassPipeline(module, passes)))
      return failure();
  }
  if (spmd)
    for (int k = 0; k + 1 < setup.schedule.numStages(); ++k) {
      func::FuncOp from = stageFunction(module, pipe, k), to = stageFunction(module, pipe, k + 1);
      for (unsigned i = 0; i < from.getNumResults(); ++i)
        if (Attribute a = to.getArgAttr(i, sharding::kShardingAttr))
          from.setResultAttr(i, sharding::kShardingAttr, a);
    }
  return success();
}

func::FuncOp stageFunction(ModuleOp module, const PipelineRunOptions &pipe, int stage) {
  return module.lookupSymbol<func::FuncOp>(
      pipe.stages.empty() ? std::string("main") : "main_stage" + std::to_string(stage));
}

LogicalResult buildStageProgram(ModuleOp module, const PipelineSetup &setup,
                                const PipelineRunOptions &pipe, int stage,
                                PipelinePlace place, const CompileOptions *compile,
                                StageProgram &out) {
  if (failed(splitAndPropagate(module, setup, pipe, /*composites=*/true)))
    return failure();
  func::FuncOp keep = stageFunction(module, pipe, stage);
  if (!keep)
    return module.emitError() << "pipeline-split made no stage " << stage;
  return buildRankProgram(module, keep.getSymName(), setup, place, /*propagate=*/false, compile,
                          out);
}

LogicalResult buildRankProgram(ModuleOp module, StringRef name, const PipelineSetup &setup,
                               PipelinePlace place, bool propagate,
                               const CompileOptions *compile, StageProgram &out) {
  bool spmd = !setup.sub.axes.empty();
  std::string what = name.str();
  func::FuncOp keep = keepAsMain(module, what);
  if (!keep)
    return module.emitError() << "no function @" << what;

  out.inLayouts.clear();
  out.outLayouts.clear();
  auto rankOf = [](Type t) {
    auto r = dyn_cast<RankedTensorType>(t);
    return r ? (size_t)r.getRank() : 0;
  };
  if (spmd) {
    if (failed(runPassPipeline(module, std::string(propagate ? "sharding-propagate," : "") +
                                           "sharding-partition,collectives-simplify")))
      return failure();
    func::FuncOp main = module.lookupSymbol<func::FuncOp>("main");
    for (bool results : {false, true}) {
      unsigned n = results ? main.getNumResults() : main.getNumArguments();
      for (unsigned i = 0; i < n; ++i) {
        Attribute a = results ? main.getResultAttr(i, sharding::kPartitionedAttr)
                              : main.getArgAttr(i, sharding::kPartitionedAttr);
        Type t = results ? main.getResultTypes()[i] : main.getArgumentTypes()[i];
        auto l = blocks::layoutOf(a, setup.sub, rankOf(t));
        if (failed(l))
          return main.emitError() << (results ? "output " : "input ") << i
                                  << ": unknown mesh axis";
        (results ? out.outLayouts : out.inLayouts).push_back(*l);
      }
    }
    if (!compile)
      return success();
    if (failed(localizeConstants(module, place.subRank)))
      return failure();
    // The groups in the order every rank registers them.
    Builder b(module.getContext());
    SmallVector<Attribute> table;
    std::vector<std::vector<std::string>> groups = stageGroupTable(setup.sub);
    for (const auto &axes : groups) {
      SmallVector<Attribute> names;
      for (const std::string &a : axes)
        names.push_back(b.getStringAttr(a));
      table.push_back(b.getArrayAttr(names));
    }
    auto meshes = module.getOps<sharding::MeshOp>();
    if (meshes.empty())
      return module.emitError() << "the stage has no mesh after partitioning";
    module->setAttr(collectives::kGroupsAttr, b.getArrayAttr(table));
    module->setAttr(collectives::kGroupsMeshAttr,
                    FlatSymbolRefAttr::get(SymbolTable::getSymbolName(*meshes.begin())));
    if (failed(runPassPipeline(module, "convert-collectives-to-runtime")))
      return failure();
    auto after = module->getAttrOfType<ArrayAttr>(collectives::kGroupsAttr);
    if (after.size() != groups.size())
      return module.emitError() << "@" << what << " uses a group of mesh axes ("
                                << after[groups.size()] << ") outside the registered table";
    // The CPU pipeline takes plain upstream dialects.
    for (auto m : llvm::make_early_inc_range(module.getOps<sharding::MeshOp>()))
      m.erase();
    module->removeAttr(collectives::kGroupsAttr);
    module->removeAttr(collectives::kGroupsMeshAttr);
  } else {
    for (Type t : keep.getArgumentTypes())
      out.inLayouts.push_back(blocks::Layout(rankOf(t)));
    for (Type t : keep.getResultTypes())
      out.outLayouts.push_back(blocks::Layout(rankOf(t)));
  }
  if (!compile)
    return success();
  out.exec = compileFunction(module, "main", *compile, out.sig);
  return success(out.exec != nullptr);
}

} // namespace partita::pipelined
