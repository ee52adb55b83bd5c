//===- CollectivesSimplify.cpp - merge and cancel collectives -------------===//
//
// The collectives dialect's canonicalization patterns, applied alone: a
// full `canonicalize` would also fold graph ops, which the partitioned
// program's report and tests should not depend on.
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace partita::collectives;

namespace partita::sharding {
#define GEN_PASS_DEF_COLLECTIVESSIMPLIFY
#include "passes/Partition/Passes.h.inc"

namespace {

struct CollectivesSimplifyPass : impl::CollectivesSimplifyBase<CollectivesSimplifyPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    AllReduceOp::getCanonicalizationPatterns(patterns, ctx);
    AllGatherOp::getCanonicalizationPatterns(patterns, ctx);
    AxisSliceOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace partita::sharding
