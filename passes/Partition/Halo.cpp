//===- Halo.cpp - windowed ops over split spatial dimensions --------------===//
//
// GSPMD's halo exchange, for blocks whose windows line up: when a spatial
// dimension of size I = O * stride is split into P blocks, block r of the
// outputs reads input rows [r*I/P - lo, (r+1)*I/P + hi) with lo = the begin
// pad and hi = extent - stride - lo, on every device alike (the rule only
// lets such dimensions split, windowSplitObstacle). So each device takes
//
//   low halo:  the last lo rows before its block, from the devices 1, 2, ...
//              positions lower (collective_permute by +1, +2, ...);
//   high halo: the first hi rows after it, from the devices above (-1, ...);
//
// and the devices at the ends, whose permutes wrap around the ring, use the
// padding value instead (a select on axis_index). A negative hi means the
// last -hi rows of the block are read by no window of this block: they are
// dropped. The local op then runs on halo + block + halo without padding
// in that dimension and produces exactly its O/P outputs. Dimensions split
// together are extended one after the other, so a corner block arrives with
// the halos of the dimension extended before.
//
// average_pool without count_include_pad divides by the number of real
// (non-padding) elements in each window; the local op would count the
// padding rows that replaced wrapped-around halos as real. A mask of ones
// over the real rows (zeros over that padding), pooled with the same
// window, gives the local op's count divided into the true one: dividing
// the two pools gives the true average.
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Halo.h"

#include "dialects/Collectives/IR/CollectivesOps.h"
#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"

using namespace mlir;
using namespace partita::collectives;

namespace partita::sharding {
namespace {

/// Graph ops for the halo-extended input of one windowed op.
class HaloBuilder {
public:
  HaloBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  /// A graph op with inferred types; null (after a diagnostic) when
  /// ill-formed or when an operand is null.
  Value make(StringRef name, ValueRange operands, ArrayRef<NamedAttribute> attrs = {}) {
    if (llvm::any_of(operands, [](Value v) { return !v; }))
      return nullptr;
    Operation *op = graph::createInferred(b, loc, name, operands, attrs);
    return op ? op->getResult(0) : nullptr;
  }

  /// Rows [begin, end) of `x` along `dim`.
  Value slice(Value x, int64_t dim, int64_t begin, int64_t end) {
    auto type = cast<RankedTensorType>(x.getType());
    if (begin == 0 && end == type.getDimSize(dim))
      return x;
    SmallVector<int64_t> starts(type.getRank(), 0), ends(type.getShape()),
        steps(type.getRank(), 1);
    starts[dim] = begin;
    ends[dim] = end;
    return make(graph::SliceOp::getOperationName(), {x},
                {b.getNamedAttr("starts", b.getDenseI64ArrayAttr(starts)),
                 b.getNamedAttr("ends", b.getDenseI64ArrayAttr(ends)),
                 b.getNamedAttr("steps", b.getDenseI64ArrayAttr(steps))});
  }

  Value concat(ArrayRef<Value> parts, int64_t dim) {
    if (parts.size() == 1)
      return parts.front();
    return make(graph::ConcatOp::getOperationName(), parts,
                {b.getNamedAttr("axis", b.getI64IntegerAttr(dim))});
  }

  Value constant(RankedTensorType type, Attribute scalar) {
    return graph::ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, scalar));
  }

  Value i64Scalar(int64_t v) {
    auto t = RankedTensorType::get({}, b.getI64Type());
    return constant(t, b.getI64IntegerAttr(v));
  }

  /// Whether the device `shift` positions lower than `position` in a group
  /// of `size` exists (negative: higher), i.e. the ring does not wrap:
  /// position >= shift, or position < size + shift.
  Value exists(int64_t size, int64_t shift, Value position) {
    if (shift > 0)
      return make(graph::GreaterOrEqualOp::getOperationName(), {position, i64Scalar(shift)});
    return make(graph::LessOp::getOperationName(), {position, i64Scalar(size + shift)});
  }

  OpBuilder &b;
  Location loc;
};

/// The value windows read in the padding: the lowest value for max_pool
/// (as the lowering pads), zero otherwise.
Attribute paddingValue(Operation *op, Type elt) {
  bool isMax = isa<graph::MaxPoolOp>(op);
  if (auto ft = dyn_cast<FloatType>(elt))
    return FloatAttr::get(ft, isMax ? APFloat::getInf(ft.getFloatSemantics(), true)
                                    : APFloat::getZero(ft.getFloatSemantics()));
  auto it = cast<IntegerType>(elt);
  unsigned w = it.getWidth();
  APInt v = !isMax || it.isUnsigned() || w == 1 ? APInt::getZero(w) : APInt::getSignedMinValue(w);
  return IntegerAttr::get(elt, v);
}

} // namespace

FailureOr<Operation *> buildHaloWindowOp(OpBuilder &b, Operation *op, ValueRange operands,
                                         ArrayRef<NamedAttribute> attrs,
                                         ArrayRef<AxisList> inputDims,
                                         FlatSymbolRefAttr meshRef, MeshAttr mesh) {
  auto type = cast<RankedTensorType>(operands[0].getType());
  int64_t rank = type.getRank(), k = rank - 2;
  bool split = false;
  for (int64_t d = 2; d < rank && d < (int64_t)inputDims.size(); ++d)
    split |= !inputDims[d].empty();
  if (!split)
    return static_cast<Operation *>(nullptr);

  Location loc = op->getLoc();
  HaloBuilder h(b, loc);
  Type elt = type.getElementType();
  Attribute padValue = paddingValue(op, elt);
  Value pad; // the scalar padding value, made on first use
  auto padScalar = [&] {
    if (!pad)
      pad = h.constant(RankedTensorType::get({}, elt), padValue);
    return pad;
  };
  // average_pool without count_include_pad: one mask row per input row of
  // each split dimension (1 real, 0 padding), see the file comment.
  bool countReal = false;
  if (auto avg = dyn_cast<graph::AveragePoolOp>(op))
    countReal = !avg.getCountIncludePad();
  SmallVector<std::pair<int64_t, Value>> masks;
  auto rowsOf = [&](int64_t n, double v) {
    return h.constant(RankedTensorType::get({n}, elt), FloatAttr::get(elt, v));
  };

  SmallVector<int64_t> pads;
  for (NamedAttribute a : attrs)
    if (a.getName() == "pads")
      pads.assign(cast<DenseI64ArrayAttr>(a.getValue()).asArrayRef().begin(),
                  cast<DenseI64ArrayAttr>(a.getValue()).asArrayRef().end());
  if ((int64_t)pads.size() != 2 * k)
    return op->emitError() << "cannot partition '" << op->getName() << "': malformed pads";

  Value x = operands[0];
  for (int64_t d = 2; d < rank; ++d) {
    const AxisList &axes = inputDims[d];
    if (axes.empty())
      continue;
    std::optional<WindowDim> w = windowDim(op, d);
    if (!w)
      return op->emitError() << "cannot partition '" << op->getName()
                             << "': no window in spatial dimension " << d;
    int64_t size = 1;
    for (StringAttr a : axes)
      size *= *mesh.getAxisSize(a.getValue());
    int64_t block = type.getDimSize(d);
    int64_t lo = w->padBegin, hi = w->extent() - w->stride - w->padBegin;
    SmallVector<Attribute> axisAttrs(axes.begin(), axes.end());
    ArrayAttr group = b.getArrayAttr(axisAttrs);
    Value position; // this device's block, made on first use
    SmallVector<Value> parts, maskParts;
    // Rows [begin, end) of the block of the device `shift` positions lower
    // (negative: higher), padding where the ring wraps around.
    auto addHalo = [&](int64_t begin, int64_t end, int64_t shift) {
      int64_t rows = end - begin;
      if (std::abs(shift) >= size) { // no device that far: padding everywhere
        auto current = cast<RankedTensorType>(x.getType()); // extended in earlier dims
        SmallVector<int64_t> shape(current.getShape());
        shape[d] = rows;
        parts.push_back(h.constant(current.clone(shape), padValue));
        if (countReal)
          maskParts.push_back(rowsOf(rows, 0.0));
        return;
      }
      Value piece = h.slice(x, d, begin, end);
      if (!piece) {
        parts.push_back(nullptr);
        return;
      }
      if (!position)
        position = AxisIndexOp::create(b, loc, RankedTensorType::get({}, b.getI64Type()),
                                       meshRef, group);
      Value moved = CollectivePermuteOp::create(b, loc, piece.getType(), piece, meshRef, group,
                                                b.getI64IntegerAttr(shift));
      Value real = h.exists(size, shift, position);
      parts.push_back(h.make(graph::WhereOp::getOperationName(), {real, moved, padScalar()}));
      if (countReal) // average_pool: the padding scalar is zero
        maskParts.push_back(h.make(graph::WhereOp::getOperationName(),
                                   {real, rowsOf(rows, 1.0), padScalar()}));
    };
    // Low halo, farthest device first: the last rows of blocks r-J .. r-1.
    for (int64_t j = (lo + block - 1) / block; j >= 1; --j)
      addHalo(block - std::min(block, lo - (j - 1) * block), block, j);
    // A negative hi: no window of this block reads its last -hi rows.
    int64_t kept = hi < 0 ? block + hi : block;
    parts.push_back(h.slice(x, d, 0, kept));
    if (countReal)
      maskParts.push_back(rowsOf(kept, 1.0));
    // High halo: the first rows of blocks r+1 .. r+J.
    for (int64_t j = 1; j <= (hi + block - 1) / block; ++j)
      addHalo(0, std::min(block, hi - (j - 1) * block), -j);
    if (llvm::any_of(parts, [](Value v) { return !v; }) ||
        llvm::any_of(maskParts, [](Value v) { return !v; }))
      return failure();
    x = h.concat(parts, d);
    if (countReal)
      masks.push_back({d, h.concat(maskParts, 0)});
    if (!x || llvm::any_of(masks, [](auto &m) { return !m.second; }))
      return failure();
    pads[d - 2] = pads[d - 2 + k] = 0;
  }

  SmallVector<NamedAttribute> localAttrs(attrs);
  for (NamedAttribute &a : localAttrs)
    if (a.getName() == "pads")
      a = b.getNamedAttr("pads", b.getDenseI64ArrayAttr(pads));
  SmallVector<Value> localOperands(operands);
  localOperands[0] = x;
  Operation *local =
      graph::createInferred(b, loc, op->getName().getStringRef(), localOperands, localAttrs);
  if (!local)
    return failure();
  if (!countReal)
    return local;

  // The mask over the extended spatial shape, (1, 1, spatial...): ones,
  // times each split dimension's rows.
  auto extended = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> maskShape(extended.getShape());
  maskShape[0] = maskShape[1] = 1;
  Value mask = h.constant(extended.clone(maskShape), FloatAttr::get(elt, 1.0));
  for (auto [d, rows] : masks) {
    SmallVector<int64_t> shape(rank, 1);
    shape[d] = maskShape[d];
    Value shaped = h.make(graph::ReshapeOp::getOperationName(), {rows},
                          {b.getNamedAttr("shape", b.getDenseI64ArrayAttr(shape))});
    mask = h.make(graph::MulOp::getOperationName(), {mask, shaped});
  }
  Value counts = h.make(op->getName().getStringRef(), {mask}, localAttrs);
  Value average = h.make(graph::DivOp::getOperationName(), {local->getResult(0), counts});
  if (!average)
    return failure();
  return average.getDefiningOp();
}

} // namespace partita::sharding
