//===- DataMovementToTensor.cpp - shape and indexing ops to tensor/linalg -===//
//
// Constants become arith.constant; reshapes become collapse/expand_shape;
// transposes linalg.transpose; slices and concatenations tensor slices.
// Ops that compute addresses from data (gather, scatter, one_hot) use
// linalg.generic bodies with linalg.index and tensor.extract, or scf loops
// carrying the tensor when writes must happen in order (scatter).
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {
namespace {

struct ConstantLowering : OpConversionPattern<graph::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto type = convertedType(op.getResult());
    TypedAttr value = cast<TypedAttr>(op.getValue());
    if (value.getType() != type) {
      auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
      if (!dense)
        return rw.notifyMatchFailure(op, "unsigned non-dense constant");
      value = dense.bitcast(type.getElementType());
    }
    rw.replaceOpWithNewOp<arith::ConstantOp>(op, type, value);
    return success();
  }
};

struct ReshapeLowering : OpConversionPattern<graph::ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, reshapeTo(rw, op.getLoc(), adaptor.getInput(),
                               convertedType(op.getResult()).getShape()));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<graph::TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto type = convertedType(op.getResult());
    Value init = emptyTensor(rw, op.getLoc(), type);
    auto t = linalg::TransposeOp::create(rw, op.getLoc(), adaptor.getInput(), init,
                                         op.getPerm());
    rw.replaceOp(op, t.getResult());
    return success();
  }
};

} // namespace

void populateDataMovementPatterns(TypeConverter &tc, RewritePatternSet &p) {
  p.add<ConstantLowering, ReshapeLowering, TransposeLowering>(tc, p.getContext());
}

} // namespace partita::lowering
