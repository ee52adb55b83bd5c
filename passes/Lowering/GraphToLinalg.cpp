//===- GraphToLinalg.cpp - the convert-graph-to-linalg pass ---------------===//
//
// Drives the per-family patterns with a dialect conversion. The type
// converter maps unsigned integer element types to signless ones (arith only
// takes signless integers); the patterns read signedness from the original
// graph types. Function signatures and returns follow the converter.
//
// A graph op that no pattern handles makes the conversion fail with
// upstream's generic "failed to legalize" message; we replace it with one
// diagnostic that names the op, so users see what is missing rather than a
// framework message.
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

#include "passes/Graph/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace partita::lowering {
#define GEN_PASS_DEF_CONVERTGRAPHTOLINALG
#include "passes/Lowering/Passes.h.inc"

namespace {

/// An op of another dialect on unsigned element types -- the
/// tensor.extract_slice of an axis_slice, the buffers and to_tensor of a
/// collective's runtime call, both left by convert-collectives-to-runtime
/// on the partitioned graph -- is rebuilt on the signless types its graph
/// neighbours are converted to (otherwise the conversion leaves casts
/// between the two that nothing lowers). Ops with regions are left to
/// their own patterns.
struct RetypeOtherOp : ConversionPattern {
  RetypeOtherOp(const TypeConverter &tc, MLIRContext *ctx)
      : ConversionPattern(tc, MatchAnyOpTypeTag(), /*benefit=*/0, ctx) {}

  LogicalResult matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &rw) const override {
    if (isa<graph::GraphDialect>(op->getDialect()) || op->getNumRegions() != 0 ||
        isa<func::ReturnOp, func::CallOp>(op))
      return failure();
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(), types)))
      return failure();
    Operation *retyped = rw.clone(*op);
    retyped->setOperands(operands);
    for (auto [result, type] : llvm::zip(retyped->getResults(), types))
      result.setType(type);
    rw.replaceOp(op, retyped->getResults());
    return success();
  }
};

struct ConvertGraphToLinalgPass
    : impl::ConvertGraphToLinalgBase<ConvertGraphToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    TypeConverter tc;
    tc.addConversion([](Type t) { return toSignless(t); });

    RewritePatternSet patterns(ctx);
    populateElementwisePatterns(tc, patterns);
    populateReductionPatterns(tc, patterns);
    populateContractionPatterns(tc, patterns);
    populateDataMovementPatterns(tc, patterns);
    populateNNPatterns(tc, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, tc);
    populateReturnOpTypeConversionPattern(patterns, tc);
    populateCallOpTypeConversionPattern(patterns, tc);
    patterns.add<RetypeOtherOp>(tc, ctx);

    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect>();
    target.addIllegalDialect<graph::GraphDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return tc.isSignatureLegal(f.getFunctionType()) && tc.isLegal(&f.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return tc.isLegal(op); });
    // tensor, bufferization, memref, ...: legal on signless types.
    target.markUnknownOpDynamicallyLegal([&](Operation *op) { return tc.isLegal(op); });

    // Capture the framework's legalization failure and restate it.
    std::optional<std::pair<Location, std::string>> failedOp;
    LogicalResult result = success();
    {
      ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
        std::string msg = d.str();
        StringRef rest(msg);
        if (d.getSeverity() == DiagnosticSeverity::Error &&
            rest.consume_front("failed to legalize operation '")) {
          if (!failedOp)
            failedOp.emplace(d.getLocation(), rest.take_until(
                                                  [](char c) { return c == '\''; }).str());
          return success();
        }
        return failure();
      });
      result = applyPartialConversion(getOperation(), target, std::move(patterns));
    }
    if (succeeded(result))
      return;
    if (failedOp)
      emitError(failedOp->first)
          << failedOp->second << " cannot be lowered to linalg yet";
    signalPassFailure();
  }
};

/// linalg-fuse-elementwise-ops with one more rule: a producer is never fused
/// into a consumer with reduction loops unless that consumer reads it at
/// every loop index. Otherwise LayerNorm/GELU would be recomputed inside a
/// matmul's N (or K) loops and the matmul would no longer be a contraction
/// the CPU backend hands to BLAS.
struct FuseElementwiseNoRecompute
    : PassWrapper<FuseElementwiseNoRecompute, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseElementwiseNoRecompute)
  StringRef getArgument() const final { return "partita-fuse-elementwise"; }
  StringRef getDescription() const final {
    return "Elementwise producer-consumer fusion without recomputation in reductions";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<affine::AffineDialect, linalg::LinalgDialect>();
  }
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
      if (!consumer || consumer.getNumReductionLoops() == 0)
        return true;
      return consumer.getMatchingIndexingMap(fused).getNumResults() ==
             consumer.getNumLoops();
    };
    linalg::ControlFusionFn always = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, always);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::populateFoldTensorEmptyPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, always);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void buildGraphToLinalgPipeline(OpPassManager &pm) {
  // Composites have no direct lowering: expand attention and MoE into
  // primitive graph ops first.
  pm.addPass(graph::createGraphExpandComposites());
  pm.addPass(createConvertGraphToLinalg());
  // Broadcasts, casts and activation chains each became one generic; fuse
  // producer-consumer chains into single loop nests before bufferization so
  // no intermediate buffers are allocated.
  pm.addPass(std::make_unique<FuseElementwiseNoRecompute>());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void registerGraphToLinalgPipeline() {
  PassPipelineRegistration<>(
      "graph-to-linalg",
      "Expand composites, lower graph ops to linalg on tensors and fuse "
      "elementwise chains",
      [](OpPassManager &pm) { buildGraphToLinalgPipeline(pm); });
}

} // namespace partita::lowering
