//===- ExpandArith.cpp - arith ops the LLVM conversion lacks, nothing more ===//
//
// Upstream's arith-expand also rewrites maximumf/minimumf/maxnumf/minnumf
// into compare-and-select chains, dropping their fast-math flags; LLVM then
// cannot vectorize a max reduction (a row max over 2048 floats ran one
// element per select latency: 16.7 ms for 8x1024 rows, the sum beside it
// 1.5 ms). The LLVM conversion lowers the float min/max ops to intrinsics
// itself, so only what it cannot lower is expanded here.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_EXPANDARITH
#include "lib/Target/CPU/Passes.h.inc"

namespace {
struct ExpandArithPass : impl::ExpandArithBase<ExpandArithPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateCeilFloorDivExpandOpsPatterns(patterns);
    arith::populateExpandScalingExtTruncPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace partita::cpu
