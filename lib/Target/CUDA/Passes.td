//===- Passes.td - the CUDA target's passes ---------------------*- tablegen -*-===//
//
// Run on bufferized modules, after contractions became cuBLAS calls. What
// they leave is gpu.launch regions for every loop nest and device memory for
// every buffer; the upstream NVVM pipeline takes it from there
// (buildCudaLowerToLLVMPipeline in Pipeline.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TARGET_CUDA_PASSES_TD
#define PARTITA_TARGET_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def GpuMapLoopNests : Pass<"partita-gpu-map-loop-nests", "::mlir::ModuleOp"> {
  let summary = "Map every loop nest of a host function to a GPU launch";
  let description = [{
    Each linalg op becomes a parallel loop nest with its parallel dimensions
    outermost (reductions are interchanged inward, so one thread owns each
    output element and runs its reduction sequentially). Each top-level
    `scf.parallel` is collapsed to one dimension and tiled by `block-size`:
    the tile loop maps to blocks, the point loop to threads (a guard covers
    the last, partial block); nested parallel loops run sequentially inside
    the thread. Host-level code that touches memory outside any parallel
    loop (a 0-d linalg op's body, an `scf.for` nest) is wrapped in a
    single-thread launch, so nothing but allocation, copies, calls and
    views is left on the host. `memref.copy` between layouts that are not
    whole identity-layout buffers becomes a copy kernel. Host-level loads
    used only inside later nests move into them. Finally
    `convert-parallel-loops-to-gpu` turns the mapped loops into `gpu.launch`;
    `arith.remf` in kernels calls libdevice's fmod (declared in the module,
    hence a module pass).
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block for loop nests">,
    Option<"launch", "launch", "bool", /*default=*/"true",
           "Turn the mapped loops into gpu.launch (false: leave the mapped "
           "scf.parallel nests, which the CPU target can run: "
           "partita-cuda-emulate-on-cpu)">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def GpuDeviceMemory : Pass<"partita-gpu-device-memory", "::mlir::func::FuncOp"> {
  let summary = "Host allocations, copies and constants into device memory";
  let description = [{
    At the host level of a function: `memref.alloc`/`alloca` become
    `gpu.alloc` (an alloca is freed before each return), `memref.dealloc`
    becomes `gpu.dealloc`, contiguous `memref.copy` becomes `gpu.memcpy`, and
    each `memref.get_global` (a constant the code kept) is copied into a
    device buffer at the start of the function, freed before each return.
    Kernels read only device memory: the function's arguments are device
    buffers the executor passes.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect"];
}

def GpuCheckHost : Pass<"partita-gpu-check-host", "::mlir::ModuleOp"> {
  let summary = "Fail when a loop nest or a memory access is left on the host";
  let description = [{
    After the mapping, a host function may hold only launches, device
    allocation and copies, calls into the runtime, views and scalar
    arithmetic. Any other op that reads or writes memory outside a
    `gpu.launch` fails the compilation, naming the op and its location: a
    silent host loop would read device pointers on the CPU.
  }];
}

#endif // PARTITA_TARGET_CUDA_PASSES_TD
