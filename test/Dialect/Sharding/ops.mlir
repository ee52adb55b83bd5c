// RUN: partita-opt %s | partita-opt | FileCheck %s

// CHECK: sharding.mesh @mesh = <["data"=2, "model"=4]>
sharding.mesh @mesh = <["data"=2, "model"=4]>
// A mesh of one device is valid.
// CHECK: sharding.mesh @single = <["x"=1]>
sharding.mesh @single = <["x"=1]>

// CHECK-LABEL: func.func @annotations
// CHECK-SAME: sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {"model", ?}]>
// CHECK-SAME: sharding.sharding = #sharding.tensor<@mesh, [{?}, {}], unreduced={"model"}, priority=1>
func.func @annotations(%x: tensor<8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {"model", ?}]>})
    -> (tensor<8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{?}, {}], unreduced={"model"}, priority=1>}) {
  // CHECK: sharding.constraint %{{.*}} <@mesh, [{"data"}, {}], replicated={"model"}> : tensor<8x16xf32>
  %c = sharding.constraint %x <@mesh, [{"data"}, {}], replicated={"model"}> : tensor<8x16xf32>
  // CHECK: sharding.reshard %{{.*}} <@mesh, [{}, {"model"}]> : tensor<8x16xf32>
  %r = sharding.reshard %c <@mesh, [{}, {"model"}]> : tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// CHECK-LABEL: func.func @manual
// CHECK: sharding.manual_computation(%arg0) in_shardings = [#sharding.tensor<@mesh, [{"model"}, {}]>] out_shardings = [#sharding.tensor<@mesh, [{"model"}, {}]>] manual_axes = ["model"]
// CHECK: ^bb0(%{{.*}}: tensor<2x16xf32>):
// CHECK: sharding.return %{{.*}} : tensor<2x16xf32>
func.func @manual(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %0 = sharding.manual_computation(%x) in_shardings = [#sharding.tensor<@mesh, [{"model"}, {}]>]
      out_shardings = [#sharding.tensor<@mesh, [{"model"}, {}]>] manual_axes = ["model"] {
  ^bb0(%l: tensor<2x16xf32>):
    %n = graph.neg %l : tensor<2x16xf32>
    sharding.return %n : tensor<2x16xf32>
  } : (tensor<8x16xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// Attributes parse standalone too.
// CHECK-LABEL: func.func @attrs
// CHECK-SAME: a = #sharding.mesh<["a"=3]>
// CHECK-SAME: d = #sharding.dim<{"a", ?}>
func.func @attrs() attributes {a = #sharding.mesh<["a"=3]>, d = #sharding.dim<{"a", ?}>} {
  return
}
