sharding.mesh @mesh = <["data"=8]>
func.func @main(%x: tensor<512x1x1024xbf16> {graph.name = "x"},
    %l0_w1: tensor<1024x4096xbf16> {graph.name = "layers.0.w1"},
    %l0_w2: tensor<4096x1024xbf16> {graph.name = "layers.0.w2"},
    %l1_w1: tensor<1024x4096xbf16> {graph.name = "layers.1.w1"},
    %l1_w2: tensor<4096x1024xbf16> {graph.name = "layers.1.w2"}) -> tensor<512x1x1024xbf16> {
  %l0_fc1 = graph.matmul %x, %l0_w1 : (tensor<512x1x1024xbf16>, tensor<1024x4096xbf16>) -> tensor<512x1x4096xbf16> loc("layers.0.fc1")
  %l0_relu = graph.relu %l0_fc1 : tensor<512x1x4096xbf16> loc("layers.0.relu")
  %l0_fc2 = graph.matmul %l0_relu, %l0_w2 : (tensor<512x1x4096xbf16>, tensor<4096x1024xbf16>) -> tensor<512x1x1024xbf16> loc("layers.0.fc2")
  %l1_fc1 = graph.matmul %l0_fc2, %l1_w1 : (tensor<512x1x1024xbf16>, tensor<1024x4096xbf16>) -> tensor<512x1x4096xbf16> loc("layers.1.fc1")
  %l1_relu = graph.relu %l1_fc1 : tensor<512x1x4096xbf16> loc("layers.1.relu")
  %l1_fc2 = graph.matmul %l1_relu, %l1_w2 : (tensor<512x1x4096xbf16>, tensor<4096x1024xbf16>) -> tensor<512x1x1024xbf16> loc("layers.1.fc2")
  return %l1_fc2 : tensor<512x1x1024xbf16>
}
