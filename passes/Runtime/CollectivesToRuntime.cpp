//===- CollectivesToRuntime.cpp - collectives ops -> C ABI calls ------------===//
//
// See Passes.td and include/partita/Runtime/CollectivesABI.h.
//
//===----------------------------------------------------------------------===//

#include "passes/Runtime/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace partita::collectives {
#define GEN_PASS_DEF_CONVERTCOLLECTIVESTORUNTIME
#include "passes/Runtime/Passes.h.inc"

namespace {

/// The C ABI's partita_dtype, or -1.
int32_t dtypeCode(Type t) {
  if (t.isF32()) return 0;
  if (t.isF64()) return 1;
  if (t.isF16()) return 2;
  if (t.isBF16()) return 3;
  if (auto i = dyn_cast<IntegerType>(t)) {
    unsigned w = i.getWidth();
    if (w == 1) return 4;
    int base = i.isUnsigned() ? 9 - 1 : 5 - 1; // i8 -> 5, ui8 -> 9
    if (w == 8) return base + 1;
    if (w == 16) return base + 2;
    if (w == 32) return base + 3;
    if (w == 64) return base + 4;
  }
  return -1;
}

int64_t product(ArrayRef<int64_t> s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i)
    p *= s[i];
  return p;
}

class Lowering {
public:
  Lowering(ModuleOp module) : module(module), b(module.getContext()) {}

  LogicalResult run() {
    // A table the host fixed beforehand keeps its numbers.
    if (auto table = module->getAttrOfType<ArrayAttr>(kGroupsAttr))
      for (Attribute g : table)
        groups.push_back(cast<ArrayAttr>(g));
    if (auto m = module->getAttrOfType<FlatSymbolRefAttr>(kGroupsMeshAttr))
      mesh = m;
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<CollectivesDialect>(op->getDialect()))
        ops.push_back(op);
    });
    for (Operation *op : ops)
      if (failed(lower(op)))
        return failure();
    if (!groups.empty()) {
      SmallVector<Attribute> table;
      for (ArrayAttr axes : groups)
        table.push_back(axes);
      module->setAttr(kGroupsAttr, b.getArrayAttr(table));
      module->setAttr(kGroupsMeshAttr, mesh);
    }
    return success();
  }

private:
  /// The group id of (mesh, axes), numbering new ones.
  FailureOr<int32_t> groupId(Operation *op, FlatSymbolRefAttr opMesh, ArrayAttr axes) {
    if (!mesh)
      mesh = opMesh;
    else if (mesh != opMesh)
      return op->emitError() << "collectives on two meshes (" << mesh << ", " << opMesh
                             << ") in one module are not supported by the runtime";
    for (auto [i, g] : llvm::enumerate(groups))
      if (g == axes)
        return (int32_t)i;
    groups.push_back(axes);
    return (int32_t)groups.size() - 1;
  }

  /// Declares @name(types) -> results once.
  func::FuncOp declare(StringRef name, TypeRange args, TypeRange results) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToEnd(module.getBody());
    auto f = func::FuncOp::create(b, module.getLoc(), name, b.getFunctionType(args, results));
    f.setPrivate();
    return f;
  }

  Value i64(Location loc, int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  Value i32(Location loc, int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }

  Value pointer(Location loc, Value memref) {
    Value idx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), idx);
    return LLVM::IntToPtrOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()), asInt);
  }

  /// The buffer the runtime reads `input` from.
  Value inputBuffer(Location loc, Value input) {
    auto inType = cast<RankedTensorType>(input.getType());
    // The runtime reads the input through a raw pointer, which bufferization
    // cannot see: a to_buffer of `input` (which CSE may hoist to an earlier
    // collective of the same tensor) says nothing about that later read, and
    // the buffer may be overwritten in place before the call. A private copy
    // taken here has no other user, so nothing writes into it.
    Value copy = bufferization::AllocTensorOp::create(b, loc, inType, ValueRange{}, input);
    auto inBuf = bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(inType.getShape(), inType.getElementType()), copy,
        /*read_only=*/true);
    return inBuf;
  }

  /// call @fn(args...) -> ().
  void call(Location loc, StringRef fn, ArrayRef<Value> args) {
    SmallVector<Type> types;
    for (Value v : args)
      types.push_back(v.getType());
    func::CallOp::create(b, loc, declare(fn, types, {}), args);
  }

  /// alloc(result) + call @fn(pointers of `inputs`..., result pointer,
  /// extra...) + to_tensor.
  Value callWithResult(Location loc, StringRef fn, ArrayRef<Value> inputs,
                       RankedTensorType resultType, ArrayRef<Value> extra) {
    auto outBuf = memref::AllocOp::create(
        b, loc, MemRefType::get(resultType.getShape(), resultType.getElementType()));
    SmallVector<Value> args;
    for (Value in : inputs)
      args.push_back(pointer(loc, in));
    args.push_back(pointer(loc, outBuf));
    args.append(extra.begin(), extra.end());
    call(loc, fn, args);
    return bufferization::ToTensorOp::create(b, loc, resultType, outBuf, b.getUnitAttr(),
                                             b.getUnitAttr());
  }

  /// to_buffer(input) + alloc(result) + call + to_tensor.
  Value callOnBuffers(Operation *op, StringRef fn, Value input, RankedTensorType resultType,
                      ArrayRef<Value> extra) {
    Location loc = op->getLoc();
    return callWithResult(loc, fn, {inputBuffer(loc, input)}, resultType, extra);
  }

  /// The C ABI's dtype code of a static-shaped tensor, or a diagnostic.
  FailureOr<int32_t> runtimeDtype(Operation *op, Type type) {
    auto t = cast<RankedTensorType>(type);
    if (!t.hasStaticShape())
      return op->emitError() << "'" << op->getName()
                             << "' needs static shapes to be lowered to the runtime";
    int32_t code = dtypeCode(t.getElementType());
    if (code < 0)
      return op->emitError() << "'" << op->getName() << "' on element type "
                             << t.getElementType() << " is not supported by the runtime";
    return code;
  }

  Value groupPosition(Location loc, int32_t group) {
    func::FuncOp callee =
        declare("partita_group_position", {b.getI32Type()}, {b.getI64Type()});
    return func::CallOp::create(b, loc, callee, ValueRange{i32(loc, group)}).getResult(0);
  }

  LogicalResult lower(Operation *op) {
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    auto meshAttr = op->getAttrOfType<FlatSymbolRefAttr>("mesh");
    auto axes = op->getAttrOfType<ArrayAttr>("axes");
    if (!meshAttr || !axes)
      return op->emitError() << "'" << op->getName() << "' has no mesh/axes";
    FailureOr<int32_t> group = groupId(op, meshAttr, axes);
    if (failed(group))
      return failure();

    if (auto idx = dyn_cast<AxisIndexOp>(op)) {
      Value pos = groupPosition(loc, *group);
      Value t = tensor::FromElementsOp::create(b, loc, idx.getType(), ValueRange{pos});
      idx.replaceAllUsesWith(t);
      idx.erase();
      return success();
    }

    if (isa<SendOp, RecvOp>(op)) {
      bool isSend = isa<SendOp>(op);
      Type type = isSend ? op->getOperand(0).getType() : op->getResult(0).getType();
      FailureOr<int32_t> dtype = runtimeDtype(op, type);
      if (failed(dtype))
        return failure();
      auto shaped = cast<RankedTensorType>(type);
      int64_t shift = op->getAttrOfType<IntegerAttr>("shift").getInt();
      SmallVector<Value> extra = {i64(loc, product(shaped.getShape(), 0, shaped.getRank())),
                                  i64(loc, shift), i32(loc, *dtype), i32(loc, *group)};
      if (isSend) {
        SmallVector<Value> args = {pointer(loc, inputBuffer(loc, op->getOperand(0)))};
        args.append(extra);
        call(loc, "partita_send", args);
      } else {
        op->getResult(0).replaceAllUsesWith(
            callWithResult(loc, "partita_recv", {}, shaped, extra));
      }
      op->erase();
      return success();
    }

    Value input = op->getOperand(0);
    auto inType = cast<RankedTensorType>(input.getType());
    auto outType = cast<RankedTensorType>(op->getResult(0).getType());
    if (!inType.hasStaticShape() || !outType.hasStaticShape())
      return op->emitError() << "'" << op->getName()
                             << "' needs static shapes to be lowered to the runtime";
    int32_t dtype = dtypeCode(inType.getElementType());

    if (auto slice = dyn_cast<AxisSliceOp>(op)) {
      int64_t dim = slice.getDim();
      int64_t block = outType.getDimSize(dim);
      Value pos = groupPosition(loc, *group);
      Value posIdx = arith::IndexCastOp::create(b, loc, b.getIndexType(), pos);
      Value offset = arith::MulIOp::create(
          b, loc, posIdx, arith::ConstantIndexOp::create(b, loc, block));
      SmallVector<OpFoldResult> offsets(inType.getRank(), b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(inType.getRank(), b.getIndexAttr(1));
      for (int64_t s : outType.getShape())
        sizes.push_back(b.getIndexAttr(s));
      offsets[dim] = offset;
      Value r = tensor::ExtractSliceOp::create(b, loc, outType, input, offsets, sizes, strides);
      slice.replaceAllUsesWith(r);
      slice.erase();
      return success();
    }

    if (dtype < 0)
      return op->emitError() << "'" << op->getName() << "' on element type "
                             << inType.getElementType() << " is not supported by the runtime";
    ArrayRef<int64_t> in = inType.getShape(), out = outType.getShape();
    Value dt = i32(loc, dtype), g = i32(loc, *group);
    Value result;
    if (auto ar = dyn_cast<AllReduceOp>(op)) {
      result = callOnBuffers(op, "partita_all_reduce", input, outType,
                             {i64(loc, product(in, 0, in.size())), dt,
                              i32(loc, (int32_t)ar.getReduction()), g});
    } else if (auto ag = dyn_cast<AllGatherOp>(op)) {
      size_t d = ag.getDim();
      result = callOnBuffers(op, "partita_all_gather", input, outType,
                             {i64(loc, product(in, 0, d)), i64(loc, product(in, d, in.size())),
                              dt, g});
    } else if (auto rs = dyn_cast<ReduceScatterOp>(op)) {
      size_t d = rs.getDim();
      result = callOnBuffers(op, "partita_reduce_scatter", input, outType,
                             {i64(loc, product(out, 0, d)),
                              i64(loc, product(out, d, out.size())), dt,
                              i32(loc, (int32_t)rs.getReduction()), g});
    } else if (auto a2a = dyn_cast<AllToAllOp>(op)) {
      size_t s = a2a.getSplitDim(), c = a2a.getConcatDim();
      if (s == c)
        return op->emitError()
               << "all_to_all with split_dim == concat_dim is not lowered to the runtime yet";
      int64_t n = in[s] / out[s];
      if (out[s] * n != in[s] || in[c] * n != out[c])
        return op->emitError() << "inconsistent all_to_all shapes";
      result = callOnBuffers(op, "partita_all_to_all", input, outType,
                             {i64(loc, product(in, 0, s)), i64(loc, product(in, s, in.size()) / n),
                              i64(loc, product(out, 0, c)),
                              i64(loc, product(out, c, out.size()) / n), dt, g});
    } else if (auto cp = dyn_cast<CollectivePermuteOp>(op)) {
      result = callOnBuffers(op, "partita_collective_permute", input, outType,
                             {i64(loc, product(in, 0, in.size())), i64(loc, cp.getShift()), dt,
                              g});
    } else {
      return op->emitError() << "'" << op->getName()
                             << "' cannot be lowered to the runtime yet";
    }
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
    return success();
  }

  ModuleOp module;
  OpBuilder b;
  FlatSymbolRefAttr mesh;
  SmallVector<ArrayAttr> groups;
};

struct ConvertCollectivesToRuntimePass
    : impl::ConvertCollectivesToRuntimeBase<ConvertCollectivesToRuntimePass> {
  void runOnOperation() override {
    if (failed(Lowering(getOperation()).run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace partita::collectives
