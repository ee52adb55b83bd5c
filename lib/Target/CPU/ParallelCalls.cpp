//===- ParallelCalls.cpp - calls of split loop nests through the pool -----===//
//
// Runs on the LLVM dialect, after the lowering: by then a memref argument is
// its descriptor's fields, so every argument of a loop nest that
// partita-parallelize-loop-nests split (ParallelizeLoopNests.cpp) is a plain
// scalar or pointer, and the arguments fit one struct. Each call
//
//   llvm.call @main_nest3(%a0, ..., %ak, %lo, %hi)      // nest: partita.parallel
//
// becomes
//
//   %ctx = llvm.alloca (in the entry block) : !llvm.struct<(A0, ..., Ak)>
//   llvm.store %a0 .. %ak into %ctx's fields
//   llvm.call @partita_parallel_for(@main_nest3_task, %ctx, %lo, %hi)
//
// and @main_nest3_task(ctx, lo, hi) loads the fields and calls the nest on
// [lo, hi). partita_parallel_for (ParallelRuntime.cpp) splits [lo, hi) into
// chunks that the runtime's threads run.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_PARALLELCALLS
#include "lib/Target/CPU/Passes.h.inc"

namespace {

constexpr llvm::StringLiteral kRuntimeFn = "partita_parallel_for";

struct ParallelCallsPass : impl::ParallelCallsBase<ParallelCallsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<LLVM::CallOp> calls;
    module.walk([&](LLVM::CallOp call) {
      if (auto name = call.getCallee())
        if (auto fn = symbols.lookup<LLVM::LLVMFuncOp>(*name))
          if (fn->hasAttr("partita.parallel"))
            calls.push_back(call);
    });
    if (calls.empty())
      return;

    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto voidTy = LLVM::LLVMVoidType::get(ctx);
    auto i64 = b.getI64Type();
    auto runtime = symbols.lookup<LLVM::LLVMFuncOp>(kRuntimeFn);
    if (!runtime) {
      b.setInsertionPointToEnd(module.getBody());
      runtime = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kRuntimeFn,
          LLVM::LLVMFunctionType::get(voidTy, {ptr, ptr, i64, i64}));
      symbols.insert(runtime);
    }

    llvm::DenseMap<Operation *, LLVM::LLVMFuncOp> trampolines;
    for (LLVM::CallOp call : calls) {
      auto callee = symbols.lookup<LLVM::LLVMFuncOp>(*call.getCallee());
      LLVM::LLVMFunctionType type = callee.getFunctionType();
      unsigned numArgs = type.getNumParams();
      if (numArgs < 2 || type.getParamType(numArgs - 1) != i64 ||
          type.getParamType(numArgs - 2) != i64 || !isa<LLVM::LLVMVoidType>(type.getReturnType())) {
        callee.emitError("split loop nest @")
            << callee.getName() << " does not end in (i64 lo, i64 hi) or returns a value";
        return signalPassFailure();
      }
      SmallVector<Type> fields(type.getParams().drop_back(2));
      auto packed = LLVM::LLVMStructType::getLiteral(ctx, fields);

      LLVM::LLVMFuncOp &task = trampolines[callee];
      if (!task)
        task = makeTrampoline(callee, packed, symbols);

      // The context lives in the caller's frame: a static alloca in the
      // entry block, filled right before the call.
      auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
      b.setInsertionPointToStart(&caller.getBody().front());
      Location loc = call.getLoc();
      Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
      Value slot = LLVM::AllocaOp::create(b, loc, ptr, packed, one);
      b.setInsertionPoint(call);
      for (unsigned i = 0; i < fields.size(); ++i) {
        Value field = LLVM::GEPOp::create(b, loc, ptr, packed, slot,
                                          ArrayRef<LLVM::GEPArg>{0, (int32_t)i});
        LLVM::StoreOp::create(b, loc, call.getArgOperands()[i], field);
      }
      Value fn = LLVM::AddressOfOp::create(b, loc, ptr, task.getName());
      ValueRange args = call.getArgOperands();
      LLVM::CallOp::create(b, loc, runtime,
                           ValueRange{fn, slot, args[numArgs - 2], args[numArgs - 1]});
      call.erase();
    }
  }

  /// void @<nest>_task(ptr ctx, i64 lo, i64 hi): the nest on [lo, hi).
  static LLVM::LLVMFuncOp makeTrampoline(LLVM::LLVMFuncOp callee,
                                         LLVM::LLVMStructType packed, SymbolTable &symbols) {
    MLIRContext *ctx = callee.getContext();
    OpBuilder b(callee);
    b.setInsertionPointAfter(callee);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = b.getI64Type();
    Location loc = callee.getLoc();
    auto task = LLVM::LLVMFuncOp::create(
        b, loc, (callee.getName() + "_task").str(),
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, i64, i64}),
        LLVM::Linkage::Internal);
    symbols.insert(task); // renames on a clash
    Block *entry = task.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    SmallVector<Value> args;
    for (auto [i, fieldType] : llvm::enumerate(packed.getBody())) {
      Value field = LLVM::GEPOp::create(b, loc, ptr, packed, entry->getArgument(0),
                                        ArrayRef<LLVM::GEPArg>{0, (int32_t)i});
      args.push_back(LLVM::LoadOp::create(b, loc, fieldType, field));
    }
    args.push_back(entry->getArgument(1));
    args.push_back(entry->getArgument(2));
    LLVM::CallOp::create(b, loc, callee, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return task;
  }
};

} // namespace
} // namespace partita::cpu
