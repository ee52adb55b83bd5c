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

/// A point-to-point shift must reach another device of the group.
static LogicalResult verifyShift(Operation *op, FlatSymbolRefAttr mesh, ArrayAttr axes,
                                 int64_t shift) {
  FailureOr<int64_t> n = groupSize(op, mesh, axes);
  if (failed(n))
    return failure();
  if (shift == 0 || shift <= -*n || shift >= *n)
    return op->emitOpError() << "shift " << shift << " does not reach another device of a "
                             << *n << "-device group";
  return success();
}

LogicalResult SendOp::verify() {
  return verifyShift(*this, getMeshAttr(), getAxes(), getShift());
}

LogicalResult RecvOp::verify() {
  return verifyShift(*this, getMeshAttr(), getAxes(), getShift());
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

/// `first` ++ `second` when the two axis lists share no axis.
std::optional<ArrayAttr> concatDisjoint(ArrayAttr first, ArrayAttr second) {
  llvm::StringSet<> seen;
  SmallVector<Attribute> all;
  for (ArrayAttr list : {first, second})
    for (Attribute a : list) {
      if (!seen.insert(cast<StringAttr>(a).getValue()).second)
        return std::nullopt;
      all.push_back(a);
    }
  return ArrayAttr::get(first.getContext(), all);
}

/// all_reduce(all_reduce(x, A), B) with the same reduction is one
/// all_reduce over A and B: every device ends with the combination of the
/// whole A x B group either way.
struct AllReduceOfAllReduce : OpRewritePattern<AllReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AllReduceOp outer, PatternRewriter &rw) const override {
    auto inner = outer.getInput().getDefiningOp<AllReduceOp>();
    if (!inner || !inner->hasOneUse() || inner.getMeshAttr() != outer.getMeshAttr() ||
        inner.getReduction() != outer.getReduction())
      return failure();
    std::optional<ArrayAttr> axes = concatDisjoint(inner.getAxes(), outer.getAxes());
    if (!axes)
      return failure();
    rw.replaceOpWithNewOp<AllReduceOp>(outer, outer.getType(), inner.getInput(),
                                       outer.getMeshAttr(), *axes, outer.getReductionAttr());
    return success();
  }
};

/// all_gather(all_gather(x, B, d), A, d) is one all_gather over A ++ B: the
/// outer gather's blocks are ordered by A, each holding the inner gather's
/// blocks ordered by B, i.e. position a * |B| + b -- row-major over A ++ B.
struct AllGatherOfAllGather : OpRewritePattern<AllGatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AllGatherOp outer, PatternRewriter &rw) const override {
    auto inner = outer.getInput().getDefiningOp<AllGatherOp>();
    if (!inner || !inner->hasOneUse() || inner.getMeshAttr() != outer.getMeshAttr() ||
        inner.getDim() != outer.getDim())
      return failure();
    std::optional<ArrayAttr> axes = concatDisjoint(outer.getAxes(), inner.getAxes());
    if (!axes)
      return failure();
    rw.replaceOpWithNewOp<AllGatherOp>(outer, outer.getType(), inner.getInput(),
                                       outer.getMeshAttr(), *axes, outer.getDimAttr());
    return success();
  }
};

/// all_gather(axis_slice(x, A, d), A, d) is x: the slice's input is the
/// same on every device of the group, and the gather puts the blocks back.
struct AllGatherOfItsSlice : OpRewritePattern<AllGatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AllGatherOp gather, PatternRewriter &rw) const override {
    auto slice = gather.getInput().getDefiningOp<AxisSliceOp>();
    if (!slice || slice.getMeshAttr() != gather.getMeshAttr() ||
        slice.getAxes() != gather.getAxes() || slice.getDim() != gather.getDim() ||
        slice.getInput().getType() != gather.getType())
      return failure();
    rw.replaceOp(gather, slice.getInput());
    return success();
  }
};

/// axis_slice(axis_slice(x, A, d), B, d) is one slice over A ++ B (the
/// block b of block a is block a * |B| + b).
struct AxisSliceOfAxisSlice : OpRewritePattern<AxisSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AxisSliceOp outer, PatternRewriter &rw) const override {
    auto inner = outer.getInput().getDefiningOp<AxisSliceOp>();
    if (!inner || !inner->hasOneUse() || inner.getMeshAttr() != outer.getMeshAttr() ||
        inner.getDim() != outer.getDim())
      return failure();
    std::optional<ArrayAttr> axes = concatDisjoint(inner.getAxes(), outer.getAxes());
    if (!axes)
      return failure();
    rw.replaceOpWithNewOp<AxisSliceOp>(outer, outer.getType(), inner.getInput(),
                                       outer.getMeshAttr(), *axes, outer.getDimAttr());
    return success();
  }
};

/// axis_slice(all_gather(x, A, d), A, d) is x: each device takes back the
/// block it contributed.
struct AxisSliceOfItsGather : OpRewritePattern<AxisSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AxisSliceOp slice, PatternRewriter &rw) const override {
    auto gather = slice.getInput().getDefiningOp<AllGatherOp>();
    if (!gather || slice.getMeshAttr() != gather.getMeshAttr() ||
        slice.getAxes() != gather.getAxes() || slice.getDim() != gather.getDim() ||
        gather.getInput().getType() != slice.getType())
      return failure();
    rw.replaceOp(slice, gather.getInput());
    return success();
  }
};

} // namespace

void AxisSliceOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *ctx) {
  patterns.add<AllReduceThenSlice, AxisSliceOfAxisSlice, AxisSliceOfItsGather>(ctx);
}

void AllReduceOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *ctx) {
  patterns.add<AllReduceOfAllReduce>(ctx);
}

void AllGatherOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *ctx) {
  patterns.add<AllGatherOfAllGather, AllGatherOfItsSlice>(ctx);
}

#define GET_OP_CLASSES
#include "dialects/Collectives/IR/CollectivesOps.cpp.inc"
