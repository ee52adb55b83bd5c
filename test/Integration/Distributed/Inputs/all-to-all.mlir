// Rows split over "a", then columns: the reshard between the two exp ops is
// one all_to_all (test/Integration/Distributed/all-to-all.test). On the
// 2-D mesh, "b" moves from rows to columns the same way.
module @a2a {
  sharding.mesh @mesh = <["a"=2, "b"=2]>
  func.func @main(%arg0: tensor<8x12xf32> {graph.name = "x"}) -> (tensor<8x12xf32> {graph.name = "y"}) {
    %0 = sharding.constraint %arg0 <@mesh, [{"a", "b"}, {}]> : tensor<8x12xf32>
    %1 = graph.exp %0 : tensor<8x12xf32>
    %2 = sharding.constraint %1 <@mesh, [{"a"}, {"b"}]> : tensor<8x12xf32>
    %3 = graph.sin %2 : tensor<8x12xf32>
    %4 = sharding.constraint %3 <@mesh, [{}, {"a", "b"}]> : tensor<8x12xf32>
    %5 = graph.neg %4 : tensor<8x12xf32>
    %6 = sharding.constraint %5 <@mesh, [{"a", "b"}, {}]> : tensor<8x12xf32>
    return %6 : tensor<8x12xf32>
  }
}
