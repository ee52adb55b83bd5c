// RUN: partita-opt %s --graph-autodiff="loss=sum optimizer=sgd lr=0.5 return-grads=true" | FileCheck %s

// A user annotation on a weight (sharding.constraint) is the identity: its
// cotangent passes through under the same constraint, so the gradient is
// laid out as the weight (dialects/Sharding/Rules/ShardingGradients.cpp).
// CHECK-LABEL: func.func @train_step
// CHECK: %[[C:.*]] = sharding.constraint %arg0 <@mesh, [{}, {"model"}]>
// CHECK: graph.matmul %arg1, %[[C]]
// CHECK: %[[DW:.*]] = graph.matmul
// CHECK: %[[DC:.*]] = sharding.constraint %[[DW]] <@mesh, [{}, {"model"}]>
// CHECK: return {{.*}}, %[[DC]]
sharding.mesh @mesh = <["model"=2]>
func.func @main(%x: tensor<4x3xf32> {graph.name = "x"}) -> (tensor<4x2xf32> {graph.name = "y"}) {
  %w = graph.constant {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32> loc("w"("m.json":0:0))
  %c = sharding.constraint %w <@mesh, [{}, {"model"}]> : tensor<3x2xf32>
  %y = graph.matmul %x, %c : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
