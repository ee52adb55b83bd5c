//===- CheckHost.cpp - nothing but launches and calls left on the host -----===//
//
// See GpuCheckHost in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace partita::cuda {

#define GEN_PASS_DEF_GPUCHECKHOST
#include "lib/Target/CUDA/Passes.h.inc"

using namespace mlir;

namespace {

struct GpuCheckHost : impl::GpuCheckHostBase<GpuCheckHost> {
  void runOnOperation() override {
    bool failed = false;
    // Host code is the functions' bodies (module-level symbols, meshes say,
    // run nothing).
    auto check = [&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (isa<func::FuncOp>(op) || isa<gpu::GPUDialect>(op->getDialect()) ||
          isa<func::CallOp, func::ReturnOp, memref::GetGlobalOp>(op) || isMemoryEffectFree(op))
        return WalkResult::advance();
      op->emitError() << "'" << op->getName()
                      << "' is left on the host outside a GPU kernel (the CUDA target "
                         "runs every loop nest and memory access on the device)";
      failed = true;
      return WalkResult::skip();
    };
    for (auto func : getOperation().getOps<func::FuncOp>())
      func.walk<WalkOrder::PreOrder>(check);
    if (failed)
      signalPassFailure();
  }
};

} // namespace
} // namespace partita::cuda
