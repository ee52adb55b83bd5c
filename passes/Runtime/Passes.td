//===- Passes.td - lowering collectives to runtime calls --------*- tablegen -*-===//

#ifndef PARTITA_PASSES_RUNTIME_PASSES_TD
#define PARTITA_PASSES_RUNTIME_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertCollectivesToRuntime
    : Pass<"convert-collectives-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Lower collectives ops to calls into the runtime's C ABI";
  let description = [{
    Runs on tensors, before bufferization (after sharding-partition; graph
    ops may still be present). Each communicating op becomes

      %in  = bufferization.to_buffer %x read_only   (identity layout)
      %out = memref.alloc()
      func.call @partita_<op>(ptr(%in), ptr(%out), <static counts>, dtype,
                              [reduction,] group)
      %y   = bufferization.to_tensor %out restrict writable

    where ptr() is memref.extract_aligned_pointer_as_index + llvm.inttoptr
    (see include/partita/Runtime/CollectivesABI.h for the functions and the
    (outer, inner) count conventions). axis_slice becomes tensor.extract_slice
    at offset partita_group_position(group) * block; axis_index becomes
    partita_group_position(group) in a 0-d tensor.

    Groups: the distinct axis lists are numbered 0, 1, ... in order of first
    use and recorded on the module as
    `partita.collective_groups = [["data"], ["model"], ...]` together with
    `partita.collective_mesh = @mesh`; the host registers the same table
    with the runtime before calling @main. A table already on the module
    (a host that registers one fixed set of groups on every rank, as the
    pipeline executor does for stages with different collectives) keeps its
    numbers; groups it lacks are appended. All collectives of a module must
    use one mesh.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // PARTITA_PASSES_RUNTIME_PASSES_TD
