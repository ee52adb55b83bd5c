// An SPMD program with its own collectives, not a global model
// (test/Integration/Distributed/explicit-collectives.test).
sharding.mesh @mesh = <["a"=2]>
func.func @main(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = collectives.all_reduce %x on @mesh ["a"] : tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
