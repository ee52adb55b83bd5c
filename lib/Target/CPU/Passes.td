//===- Passes.td - the CPU target's passes ----------------------*- tablegen -*-===//
//
// Run on bufferized modules (after `partita-cpu-bufferize`), in the order of
// buildCpuLowerToLLVMPipeline (include/partita/Target/CPU.h).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TARGET_CPU_PASSES_TD
#define PARTITA_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ContractionsToCalls : Pass<"partita-contractions-to-calls", "::mlir::ModuleOp"> {
  let summary = "Bufferized f32/f64 contractions become calls into a BLAS runtime";
  let description = [{
    Every f32/f64 contraction (linalg.matmul, linalg.batch_matmul, a
    contraction linalg.generic: projected-permutation maps, body
    `out + a * b`) becomes one call `<callee-prefix>_f32/_f64(A, B, C,
    numLoops, mapA, mapB, mapC)` (include/partita/Runtime/Contraction.h): the
    CPU's OpenBLAS runtime, or with `callee-prefix=partita_cuda_contract
    static-layouts-only=1` the CUDA target's cuBLAS runtime, which has no
    fallback loop and so only gets contractions whose static layouts are one
    GEMM per batch (GemmPlan.h). Other element types stay loops.
  }];
  let options = [
    Option<"calleePrefix", "callee-prefix", "std::string", "\"partita_contract\"",
           "The runtime's functions: <prefix>_f32, <prefix>_f64">,
    Option<"staticLayoutsOnly", "static-layouts-only", "bool", "false",
           "Only contractions whose static layouts are one GEMM call each">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ExpandArith : Pass<"partita-cpu-expand-arith", "::mlir::ModuleOp"> {
  let summary = "Expand the arith ops the LLVM conversion cannot lower; keep float min/max";
  let description = [{
    Integer ceil/floor divisions and scaling casts become plain arith ops.
    Unlike upstream's arith-expand, float maximumf/minimumf/maxnumf/minnumf
    stay as they are: the LLVM conversion turns them into intrinsics with
    their fast-math flags, so LLVM vectorizes max/min reductions.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def MathApproximation : Pass<"partita-math-approximation", "::mlir::ModuleOp"> {
  let summary = "f32 exp/erf as polynomial approximations (vectorizable)";
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def OutlineLoopNests : Pass<"partita-outline-loop-nests", "::mlir::ModuleOp"> {
  let summary = "Each top-level loop nest of a function into its own never-inlined function";
  let description = [{
    Keeps LLVM's loop passes linear in the model size: each top-level
    region-holding op moves into a function marked `partita.outlined`,
    which partita-outlined-linkage keeps out of line after LLVM lowering.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def ParallelizeLoopNests : Pass<"partita-parallelize-loop-nests", "::mlir::ModuleOp"> {
  let summary = "Give one parallel loop of each outlined nest a [lo, hi) range";
  let description = [{
    Lowers each outlined linalg loop nest to loops and gives one parallel
    loop of it a [lo, hi) range from two new arguments, for
    partita-parallel-calls to split across threads
    (include/partita/Runtime/Parallel.h).
  }];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t",
           "::partita::kDefaultParallelMinIterations",
           "Leave nests with fewer iterations in total (product of the loop ranges) serial">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect", "::mlir::scf::SCFDialect"];
}

def ParallelCalls : Pass<"partita-parallel-calls", "::mlir::ModuleOp"> {
  let summary = "Calls of split loop nests through partita_parallel_for";
  let description = [{
    In the LLVM dialect: each call of a loop nest split by
    partita-parallelize-loop-nests becomes a call of partita_parallel_for
    through a trampoline that unpacks the arguments.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def OutlinedLinkage : Pass<"partita-outlined-linkage", "::mlir::ModuleOp"> {
  let summary = "Outlined loop nests stay out of line in LLVM";
  let description = [{
    FuncToLLVM keeps neither func.func's no_inline nor its private
    visibility as linkage: each llvm.func marked `partita.outlined` gets
    noinline and internal linkage.
  }];
}

def DeallocAfterLastUse : Pass<"partita-dealloc-after-last-use", "::mlir::ModuleOp"> {
  let summary = "Move each memref.dealloc to just after the last use of its buffer in its block";
}

#endif // PARTITA_TARGET_CPU_PASSES_TD
