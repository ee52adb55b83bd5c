//===- MathApproximation.cpp - vectorizable exp/erf for the CPU backend ---===//
//
// math.exp and math.erf on f32 otherwise become scalar libm calls (expf,
// erff) that keep LLVM from vectorizing softmax and GELU loops; on the
// default GPT model they took a quarter of the step. MLIR's polynomial
// approximations are plain arith ops (f32, within a few ulp).
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_MATHAPPROXIMATION
#include "lib/Target/CPU/Passes.h.inc"

namespace {
struct MathApproximationPass : impl::MathApproximationBase<MathApproximationPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The predicate sees operation names ("math.exp").
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == math::ExpOp::getOperationName() ||
             name == math::ErfOp::getOperationName();
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace partita::cpu
