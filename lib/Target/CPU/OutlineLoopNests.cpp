//===- OutlineLoopNests.cpp - one function per loop nest ------------------===//
//
// After bufferization, @main of a transformer is one straight-line block of
// a few hundred loop nests. LLVM's IndVarSimplify asks ScalarEvolution, for
// every loop, which dominating branch conditions guard its entry, and walks
// all of them: in one function that is quadratic in the number of loops.
// On the 12-layer benchmark model (bench/cpu_vs_peers) it was 95% of a 26 s
// JIT. Moving each top-level op that has regions (a linalg op, an scf loop)
// into its own private, never-inlined function keeps every function small;
// the calls cost nothing measurable next to the loops they run.
//
// Operands and values the regions capture become arguments, except values
// of constant ops, which are cloned into the new function so LLVM still sees
// them as constants.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_OUTLINELOOPNESTS
#define GEN_PASS_DEF_OUTLINEDLINKAGE
#include "lib/Target/CPU/Passes.h.inc"

namespace {

/// An op with no operands that folds to a constant (arith.constant, ...).
bool isConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
         matchPattern(v, m_Constant());
}

struct OutlineLoopNestsPass : impl::OutlineLoopNestsBase<OutlineLoopNestsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isExternal() || func->hasAttr(kOutlinedAttr))
        continue;
      unsigned count = 0;
      for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
        if (op.getNumRegions() > 0 && op.getNumResults() == 0 &&
            !op.hasTrait<OpTrait::IsIsolatedFromAbove>())
          outline(op, func, symbols, count++);
    }
  }

  static constexpr llvm::StringLiteral kOutlinedAttr = "partita.outlined";

  void outline(Operation &op, func::FuncOp parent, SymbolTable &symbols, unsigned index) {
    llvm::SetVector<Value> captured;
    for (Value v : op.getOperands())
      captured.insert(v);
    getUsedValuesDefinedAbove(op.getRegions(), captured);
    SmallVector<Value> args;
    SmallVector<Type> argTypes;
    for (Value v : captured)
      if (!isConstant(v)) {
        args.push_back(v);
        argTypes.push_back(v.getType());
      }

    OpBuilder b(parent);
    auto callee = func::FuncOp::create(
        b, op.getLoc(), (parent.getSymName() + "_nest" + Twine(index)).str(),
        b.getFunctionType(argTypes, {}));
    callee.setPrivate();
    callee.setNoInline(true);
    callee->setAttr(kOutlinedAttr, b.getUnitAttr());
    symbols.insert(callee); // renames on a clash

    Block *body = callee.addEntryBlock();
    OpBuilder inner = OpBuilder::atBlockBegin(body);
    IRMapping map;
    for (auto [outer, arg] : llvm::zip(args, body->getArguments()))
      map.map(outer, arg);
    for (Value v : captured)
      if (isConstant(v))
        map.map(v, inner.clone(*v.getDefiningOp())->getResult(0));
    inner.clone(op, map);
    func::ReturnOp::create(inner, op.getLoc());

    OpBuilder at(&op);
    func::CallOp::create(at, op.getLoc(), callee, args);
    op.erase();
  }
};

/// See OutlinedLinkage in Passes.td.
struct OutlinedLinkagePass : impl::OutlinedLinkageBase<OutlinedLinkagePass> {
  void runOnOperation() override {
    getOperation().walk([&](LLVM::LLVMFuncOp fn) {
      if (fn->hasAttr("partita.outlined")) {
        fn.setNoInline(true);
        fn.setLinkage(LLVM::Linkage::Internal);
      }
    });
  }
};

} // namespace
} // namespace partita::cpu
