// RUN: partita-opt %s -split-input-file --sharding-partition | FileCheck %s
// Contractions and partial sums, as the differential fuzzer found them
// (bench/fuzz_partition.sh).

// A replicated activation times a weight whose contraction rows are split
// over two axes (minor first): the weight's split decides the contraction,
// the activation is sliced to match, and the one all_reduce sums the
// partial products. (The first operand once decided "not split": the
// weight was all-gathered, every device computed the whole product and the
// all_reduce summed it four times.)
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @split_rows_of_second
// CHECK: %[[A:.*]] = collectives.axis_slice %arg0 on @mesh ["b", "a"] {dim = 1 : i64} : (tensor<3x4xf32>) -> tensor<3x1xf32>
// CHECK: %[[P:.*]] = graph.matmul %[[A]], %arg1 : (tensor<3x1xf32>, tensor<1x3xf32>) -> tensor<3x3xf32>
// CHECK: collectives.all_reduce %[[P]] on @mesh ["b", "a"]
// CHECK-NOT: collectives.all_gather
func.func @split_rows_of_second(%a: tensor<3x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}]>},
    %b: tensor<4x3xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"b", "a"}, {}]>})
    -> (tensor<3x3xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}]>}) {
  %c = graph.matmul %a, %b {sharding.shardings = [#sharding.tensor<@mesh, [{?}, {?}], unreduced={"b", "a"}>]} : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  return %c : tensor<3x3xf32>
}

// -----

// A whole value that the propagated layout holds as partial sums: the
// first device of the group keeps it and the others zeros, so that the
// all_reduce counts it once.
sharding.mesh @mesh = <["x"=3]>
// CHECK-LABEL: func.func @whole_to_partial
// CHECK: %[[S:.*]] = graph.add %arg0, %arg1
// CHECK: %[[I:.*]] = collectives.axis_index on @mesh ["x"]
// CHECK: %[[F:.*]] = graph.equal %[[I]]
// CHECK: %[[K:.*]] = graph.where %[[F]], %[[S]]
// CHECK: collectives.all_reduce %[[K]] on @mesh ["x"]
func.func @whole_to_partial(%a: tensor<2x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}]>},
    %b: tensor<2x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}]>})
    -> (tensor<2x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}]>}) {
  %s = graph.add %a, %b {sharding.shardings = [#sharding.tensor<@mesh, [{}, {}], unreduced={"x"}>]} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}
