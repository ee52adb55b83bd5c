//===- MathApproximation.cpp - vectorizable exp/erf for the CPU backend ---===//
//
// math.exp and math.erf on f32 otherwise become scalar libm calls (expf,
// erff) that keep LLVM from vectorizing softmax and GELU loops; on the
// default GPT model they took a quarter of the step. MLIR's polynomial
// approximations are plain arith ops (f32, within a few ulp).
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Contraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace partita {
namespace {
struct MathApproximationPass
    : PassWrapper<MathApproximationPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MathApproximationPass)
  StringRef getArgument() const final { return "partita-math-approximation"; }
  StringRef getDescription() const final {
    return "f32 exp/erf as polynomial approximations (vectorizable)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect, vector::VectorDialect>();
  }
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

std::unique_ptr<Pass> createMathApproximationPass() {
  return std::make_unique<MathApproximationPass>();
}

void registerMathApproximationPass() { PassRegistration<MathApproximationPass>(); }
} // namespace partita
