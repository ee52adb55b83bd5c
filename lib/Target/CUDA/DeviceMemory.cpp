//===- DeviceMemory.cpp - host buffers into device memory ------------------===//
//
// See GpuDeviceMemory in Passes.td. The ops are the synchronous forms;
// gpu-async-region later chains them on the stream with the launches.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace partita::cuda {

#define GEN_PASS_DEF_GPUDEVICEMEMORY
#include "lib/Target/CUDA/Passes.h.inc"

using namespace mlir;

namespace {

struct GpuDeviceMemory : impl::GpuDeviceMemoryBase<GpuDeviceMemory> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    IRRewriter rewriter(&getContext());
    // Buffers to free before every return: allocas and constants' copies.
    SmallVector<Value> freeAtReturn;
    // At the rewriter's insertion point.
    auto deviceAlloc = [&](Location loc, MemRefType type, ValueRange dynamicSizes) {
      auto alloc = gpu::AllocOp::create(rewriter, loc, type, /*asyncToken=*/Type(),
                                        /*asyncDependencies=*/ValueRange{}, dynamicSizes,
                                        /*symbolOperands=*/ValueRange{}, /*hostShared=*/false);
      return alloc.getMemref();
    };

    SmallVector<Operation *> hostOps;
    for (Block &block : func.getBody())
      for (Operation &op : block)
        hostOps.push_back(&op);
    Block &entry = func.getBody().front();
    llvm::StringMap<Value> constants;
    for (Operation *op : hostOps) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        rewriter.setInsertionPoint(op);
        Value m = deviceAlloc(op->getLoc(), alloc.getType(), alloc.getDynamicSizes());
        rewriter.replaceOp(op, m);
      } else if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
        rewriter.setInsertionPoint(op);
        Value m = deviceAlloc(op->getLoc(), alloca.getType(), alloca.getDynamicSizes());
        rewriter.replaceOp(op, m);
        freeAtReturn.push_back(m);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        rewriter.setInsertionPoint(op);
        gpu::DeallocOp::create(rewriter, op->getLoc(), /*asyncToken=*/Type(), ValueRange{},
                               dealloc.getMemref());
        rewriter.eraseOp(op);
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        rewriter.setInsertionPoint(op);
        gpu::MemcpyOp::create(rewriter, op->getLoc(), /*asyncToken=*/Type(), ValueRange{},
                              copy.getTarget(), copy.getSource());
        rewriter.eraseOp(op);
      } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        // The constant's bytes, copied to the device once per call at the
        // function's start (so every later use is dominated).
        Value &m = constants[global.getName()];
        if (!m) {
          rewriter.setInsertionPointToStart(&entry);
          auto host = memref::GetGlobalOp::create(rewriter, op->getLoc(), global.getType(),
                                                  global.getName());
          m = deviceAlloc(op->getLoc(), global.getType(), {});
          gpu::MemcpyOp::create(rewriter, op->getLoc(), Type(), ValueRange{}, m, host);
          freeAtReturn.push_back(m);
        }
        rewriter.replaceOp(op, m);
      }
    }
    func.walk([&](func::ReturnOp ret) {
      rewriter.setInsertionPoint(ret);
      for (Value m : freeAtReturn)
        gpu::DeallocOp::create(rewriter, ret.getLoc(), Type(), ValueRange{}, m);
    });
  }
};

} // namespace
} // namespace partita::cuda
