//===- CollectivesOps.cpp - collectives verifiers and rewrites ------------===//

#include "dialects/Collectives/IR/CollectivesOps.h"

#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace partita::collectives;

#include "dialects/Collectives/IR/CollectivesDialect.cpp.inc"
#include "dialects/Collectives/IR/CollectivesEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/Collectives/IR/CollectivesAttrs.cpp.inc"

void CollectivesDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Collectives/IR/CollectivesAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Collectives/IR/CollectivesOps.cpp.inc"
      >();
}

namespace {

/// Checks the mesh and axes; returns the number of devices in each group.
FailureOr<int64_t> groupSize(Operation *op, FlatSymbolRefAttr mesh, ArrayAttr axes) {
  auto meshOp = SymbolTable::lookupNearestSymbolFrom<partita::sharding::MeshOp>(op, mesh);
  if (!meshOp)
    return op->emitOpError() << "refers to unknown mesh " << mesh;
  int64_t size = 1;
  llvm::StringSet<> seen;
  for (Attribute a : axes) {
    StringRef name = cast<StringAttr>(a).getValue();
    auto s = meshOp.getMesh().getAxisSize(name);
    if (!s)
      return op->emitOpError() << "unknown axis \"" << name << "\" of mesh " << mesh;
    if (!seen.insert(name).second)
      return op->emitOpError() << "axis \"" << name << "\" is listed twice";
    size *= *s;
  }
  if (axes.empty())
    return op->emitOpError() << "needs at least one mesh axis";
  return size;
}

/// Shared shape check: `dim` of the output is `dim` of the input scaled by
/// num/den, every other dimension equal.
LogicalResult checkScaledDim(Operation *op, int64_t dim, int64_t num, int64_t den) {
  auto in = cast<RankedTensorType>(op->getOperand(0).getType());
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  if (dim < 0 || dim >= in.getRank() || in.getRank() != out.getRank())
    return op->emitOpError() << "dimension " << dim << " is out of range for rank "
                             << in.getRank();
  if (in.getElementType() != out.getElementType())
    return op->emitOpError() << "changes the element type";
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t expect = d == dim ? in.getDimSize(d) * num / den : in.getDimSize(d);
    if ((d == dim && (in.getDimSize(d) * num) % den != 0) || out.getDimSize(d) != expect)
      return op->emitOpError() << "expected result " << (d == dim ? "dimension " : "shape at dim ")
                               << d << " of size " << expect << " (group of " << std::max(num, den)
                               << " devices), got " << out.getDimSize(d);
  }
  return success();
}

} // namespace

LogicalResult AllReduceOp::verify() {
  return failure(failed(groupSize(*this, getMeshAttr(), getAxes())));
}

LogicalResult AllGatherOp::verify() {
  auto g = groupSize(*this, getMeshAttr(), getAxes());
  return failed(g) ? failure() : checkScaledDim(*this, getDim(), *g, 1);
}

LogicalResult ReduceScatterOp::verify() {
  auto g = groupSize(*this, getMeshAttr(), getAxes());
  return failed(g) ? failure() : checkScaledDim(*this, getDim(), 1, *g);
}

LogicalResult AxisSliceOp::verify() {
  auto g = groupSize(*this, getMeshAttr(), getAxes());
  return failed(g) ? failure() : checkScaledDim(*this, getDim(), 1, *g);
}

LogicalResult AllToAllOp::verify() {
  auto g = groupSize(*this, getMeshAttr(), getAxes());
  if (failed(g))
    return failure();
  auto in = getInput().getType();
  auto out = getOutput().getType();
  int64_t s = getSplitDim(), c = getConcatDim();
  if (s < 0 || c < 0 || s >= in.getRank() || c >= in.getRank() || out.getRank() != in.getRank())
    return emitOpError() << "split/concat dimensions out of range";
  SmallVector<int64_t> expect(in.getShape());
  if (expect[s] % *g != 0)
    return emitOpError() << "split dimension of size " << expect[s]
                         << " does not divide into " << *g << " parts";
  expect[s] /= *g;
  expect[c] *= *g;
  if (out.getShape() != ArrayRef<int64_t>(expect))
    return emitOpError() << "expected result type "
                         << RankedTensorType::get(expect, in.getElementType());
  return success();
}

LogicalResult CollectivePermuteOp::verify() {
  return failure(failed(groupSize(*this, getMeshAttr(), getAxes())));
}

LogicalResult AxisIndexOp::verify() {
  return failure(failed(groupSize(*this, getMeshAttr(), getAxes())));
}

namespace {
/// axis_slice(all_reduce(x)) over the same group is a reduce_scatter: each
/// device only needs its block of the sum.
struct AllReduceThenSlice : OpRewritePattern<AxisSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AxisSliceOp slice, PatternRewriter &rw) const override {
    auto ar = slice.getInput().getDefiningOp<AllReduceOp>();
    if (!ar || !ar->hasOneUse() || ar.getMeshAttr() != slice.getMeshAttr() ||
        ar.getAxes() != slice.getAxes())
      return failure();
    rw.replaceOpWithNewOp<ReduceScatterOp>(slice, slice.getType(), ar.getInput(),
                                           ar.getMeshAttr(), ar.getAxes(),
                                           slice.getDimAttr(), ar.getReductionAttr());
    return success();
  }
};
} // namespace

void AxisSliceOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *ctx) {
  patterns.add<AllReduceThenSlice>(ctx);
}

#define GET_OP_CLASSES
#include "dialects/Collectives/IR/CollectivesOps.cpp.inc"
