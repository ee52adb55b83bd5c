//===- Passes.td - SPMD partitioning ----------------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_PARTITION_PASSES_TD
#define PARTITA_PASSES_PARTITION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ShardingPartition : Pass<"sharding-partition", "::mlir::ModuleOp"> {
  let summary = "Rewrite a propagated module into one SPMD program on local shapes";
  let description = [{
    Input: a module after sharding-propagate (every value has a sharding).
    Output: the same computation on per-device tensors. Function arguments
    and results take their local types; each op is recreated on local
    operands; wherever an operand's layout differs from what its consumer
    computes in, the pass inserts explicit collectives: all_reduce for
    partial sums, all_gather for axes the consumer does not split,
    axis_slice (no communication) for axes it splits further. Partial sums
    stay partial until a consumer needs them summed; sharded max/min/prod
    reductions are combined right after the local op. A lookup over a split
    table (vocabulary-parallel embedding) becomes a masked local lookup whose
    partial results sum. Ops whose local form is not implemented are
    rejected with a diagnostic naming the op.

    Attention over a split sequence takes the form its `partita.attention_form`
    attribute (or its module's) asks for; `auto` (the default) prices the
    forms that apply on `cluster` and takes the fastest that fits the
    device's memory (docs/sequence.md).
  }];
  let options = [
    Option<"clusterName", "cluster", "std::string", "\"local\"",
           "Cluster the attention forms are priced on: a preset or file, 'local' "
           "(this machine: its calibrated description, else /proc), or 'none' (the rule)">,
  ];
  let dependentDialects = ["::partita::collectives::CollectivesDialect",
                           "::partita::graph::GraphDialect"];
}

def ShardingLocalizeConstants : Pass<"sharding-localize-constants", "::mlir::ModuleOp"> {
  let summary = "Fold each constant's local slice for one rank";
  let description = [{
    After sharding-partition, a sharded weight is the whole constant
    followed by collectives.axis_slice ops (the same program on every
    device). When the program is compiled for one known rank, this pass
    folds those slices: each rank's module then holds only its own block of
    every sharded weight, so a rank loads and keeps just its shards. The
    rank's mesh coordinates are row-major over the mesh axes (the first
    axis is the most significant), as the runtime numbers ranks.
  }];
  let options = [
    Option<"rank", "rank", "int64_t", "0", "The rank the module is compiled for">,
  ];
  let dependentDialects = ["::partita::graph::GraphDialect"];
}

def CollectivesSimplify : Pass<"collectives-simplify", "::mlir::ModuleOp"> {
  let summary = "Merge and cancel the partitioner's collectives";
  let description = [{
    Applies the collectives dialect's canonicalizations, and nothing else,
    to a partitioned module: all_reduce then axis_slice over the same group
    becomes reduce_scatter; consecutive all_reduces (same reduction),
    all_gathers or axis_slices along one dimension over disjoint axes
    become one over both; an axis_slice of its own all_gather, or an
    all_gather of its own axis_slice, is dropped. Run by `partita
    plan/run --mesh` after `sharding-partition`.
  }];
}

def ShardingSplitFusedProjections
    : Pass<"sharding-split-fused-projections", "::mlir::func::FuncOp"> {
  let summary = "Split a column-sharded fused projection (QKV) per Split output";
  let description = [{
    Exporters fuse the query, key and value projections into one weight
    [d, 3d]: matmul(x, W) (+ bias) -> split(last axis) into q, k, v. Split
    by columns over n devices, device r holds columns [r*3d/n, (r+1)*3d/n),
    which straddle q, k and v, so each of them needs an all_gather. When the
    weight (and bias) are constants whose last dimension carries a sharding
    constraint, this pass gives each Split output its own matmul on the
    matching column block of the weight (and bias), each with the original
    constraint: device r then holds columns [r*d/n, (r+1)*d/n) of each of
    q, k and v -- Megatron's head-aligned layout -- and no collective is
    needed. Numerics are unchanged.
  }];
  let dependentDialects = ["::partita::graph::GraphDialect"];
}

#endif // PARTITA_PASSES_PARTITION_PASSES_TD
