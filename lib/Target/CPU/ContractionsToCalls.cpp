//===- ContractionsToCalls.cpp - bufferized contractions -> BLAS calls ----===//
//
// See ContractionsToCalls in Passes.td. Runs after bufferization; other
// element types and op shapes stay on the loop path.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "partita/Runtime/GemmPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_CONTRACTIONSTOCALLS
#include "lib/Target/CPU/Passes.h.inc"

namespace {

/// The body is `yield(out + a * b)` on the block arguments (either operand
/// order), with nothing else.
bool isMulAddBody(Block &body) {
  if (body.getNumArguments() != 3 || !llvm::hasNItems(body.getOperations(), 3))
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1), out = body.getArgument(2);
  Value mulValue = add.getLhs() == out ? add.getRhs() : add.getLhs();
  if ((add.getLhs() != out && add.getRhs() != out) || mulValue == out)
    return false;
  auto mul = mulValue.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  return (mul.getLhs() == a && mul.getRhs() == b) || (mul.getLhs() == b && mul.getRhs() == a);
}

/// Whether the operands' static layouts make `op` one GEMM per outer point
/// (GemmPlan.h); false when a stride or size is dynamic.
bool isStaticGemm(linalg::LinalgOp op, ArrayRef<OpOperand *> operands, const int64_t (&maps)[3]) {
  int64_t size[gemm::kMaxLoops];
  std::fill(size, size + gemm::kMaxLoops, 1);
  gemm::Operand ops[3];
  for (unsigned o = 0; o < 3; ++o) {
    auto type = cast<MemRefType>(operands[o]->get().getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) || !type.hasStaticShape())
      return false;
    for (unsigned i = 0; i < type.getRank(); ++i) {
      int l = (maps[o] >> (4 * i)) & 0xF;
      if (ShapedType::isDynamic(strides[i]))
        return false;
      size[l] = type.getDimSize(i);
      ops[o].stride[l] = strides[i];
      ops[o].present[l] = true;
    }
  }
  return gemm::plan(op.getNumLoops(), size, ops[0], ops[1], ops[2]).has_value();
}

/// The element-type suffix of the callee for `op` ("f32", "f64"), or null
/// when `op` stays on the loop path. `maps` receives the nibble-encoded
/// operand-to-loop maps.
StringRef calleeFor(linalg::LinalgOp op, int64_t (&maps)[3], bool staticLayoutsOnly) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return {};
  Type elem;
  SmallVector<OpOperand *> operands;
  for (OpOperand *in : op.getDpsInputOperands())
    operands.push_back(in);
  operands.push_back(op.getDpsInitOperand(0));
  for (OpOperand *operand : operands) {
    auto type = dyn_cast<MemRefType>(operand->get().getType());
    if (!type || type.getRank() > 15)
      return {};
    if (elem && type.getElementType() != elem)
      return {};
    elem = type.getElementType();
  }
  if (!elem.isF32() && !elem.isF64())
    return {};
  unsigned numLoops = op.getNumLoops();
  if (numLoops == 0 || numLoops > 15)
    return {};
  SmallVector<AffineMap> indexing = op.getIndexingMapsArray();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  llvm::SmallBitVector inOutput(numLoops);
  for (unsigned o = 0; o < 3; ++o) {
    AffineMap map = indexing[o];
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false) ||
        map.getNumResults() != cast<MemRefType>(operands[o]->get().getType()).getRank())
      return {};
    maps[o] = 0;
    for (unsigned i = 0; i < map.getNumResults(); ++i) {
      unsigned d = map.getDimPosition(i);
      maps[o] |= int64_t(d) << (4 * i);
      if (o == 2)
        inOutput.set(d);
    }
  }
  for (unsigned d = 0; d < numLoops; ++d)
    if ((iterators[d] == utils::IteratorType::parallel) != inOutput.test(d))
      return {};
  if (!isMulAddBody(*op.getBlock()))
    return {};
  if (staticLayoutsOnly && !isStaticGemm(op, operands, maps))
    return {};
  return elem.isF32() ? "f32" : "f64";
}

struct ContractionsToCallsPass : impl::ContractionsToCallsBase<ContractionsToCallsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, std::string>> work;
    SmallVector<std::array<int64_t, 3>> workMaps;
    module.walk([&](linalg::LinalgOp op) {
      int64_t maps[3];
      StringRef suffix = calleeFor(op, maps, staticLayoutsOnly);
      if (suffix.empty())
        return;
      work.push_back({op, calleePrefix + "_" + suffix.str()});
      workMaps.push_back({maps[0], maps[1], maps[2]});
    });
    OpBuilder b(module.getContext());
    for (auto [item, maps] : llvm::zip(work, workMaps)) {
      auto [op, calleeName] = item;
      Type elem = cast<MemRefType>(op.getDpsInitOperand(0)->get().getType()).getElementType();
      auto unranked = UnrankedMemRefType::get(elem, /*memorySpace=*/0);
      auto callee = module.lookupSymbol<func::FuncOp>(calleeName);
      if (!callee) {
        b.setInsertionPointToStart(module.getBody());
        Type i64 = b.getI64Type();
        auto type = b.getFunctionType({unranked, unranked, unranked, i64, i64, i64, i64}, {});
        callee = func::FuncOp::create(b, op.getLoc(), calleeName, type);
        callee.setPrivate();
      }
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      SmallVector<Value> args;
      for (Value v : {op.getDpsInputOperand(0)->get(), op.getDpsInputOperand(1)->get(),
                      op.getDpsInitOperand(0)->get()})
        args.push_back(memref::CastOp::create(b, loc, unranked, v));
      args.push_back(arith::ConstantIntOp::create(b, loc, op.getNumLoops(), 64));
      for (int64_t m : maps)
        args.push_back(arith::ConstantIntOp::create(b, loc, m, 64));
      func::CallOp::create(b, loc, callee, args);
      op->erase();
    }
  }
};

} // namespace
} // namespace partita::cpu
