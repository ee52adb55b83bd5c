// One op per dtype family: f64/f16/bf16 doubling, i8 doubling (wraps), i16
// squaring, i32 negation, unsigned and rank-0 tensors passed through, rank-4
// negation.
#id1 = affine_map<(i) -> (i)>
#id4 = affine_map<(a, b, c, d) -> (a, b, c, d)>
func.func @main(%d: tensor<3xf64>, %h: tensor<3xf16>, %bf: tensor<3xbf16>, %i8: tensor<3xi8>,
                %i16: tensor<3xi16>, %i32: tensor<3xi32>, %u8: tensor<3xui8>, %u64: tensor<2xui64>,
                %s: tensor<f32>, %r4: tensor<1x2x1x2xf32>)
    -> (tensor<3xf64>, tensor<3xf16>, tensor<3xbf16>, tensor<3xi8>, tensor<3xi16>, tensor<3xi32>,
        tensor<3xui8>, tensor<2xui64>, tensor<f32>, tensor<1x2x1x2xf32>) {
  %ed = tensor.empty() : tensor<3xf64>
  %d2 = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%d : tensor<3xf64>) outs(%ed : tensor<3xf64>) {
  ^bb0(%v: f64, %o: f64):
    %r = arith.addf %v, %v : f64
    linalg.yield %r : f64
  } -> tensor<3xf64>
  %eh = tensor.empty() : tensor<3xf16>
  %h2 = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%h : tensor<3xf16>) outs(%eh : tensor<3xf16>) {
  ^bb0(%v: f16, %o: f16):
    %r = arith.addf %v, %v : f16
    linalg.yield %r : f16
  } -> tensor<3xf16>
  %eb = tensor.empty() : tensor<3xbf16>
  %b2 = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%bf : tensor<3xbf16>) outs(%eb : tensor<3xbf16>) {
  ^bb0(%v: bf16, %o: bf16):
    %r = arith.addf %v, %v : bf16
    linalg.yield %r : bf16
  } -> tensor<3xbf16>
  %e8 = tensor.empty() : tensor<3xi8>
  %x8 = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%i8 : tensor<3xi8>) outs(%e8 : tensor<3xi8>) {
  ^bb0(%v: i8, %o: i8):
    %r = arith.addi %v, %v : i8
    linalg.yield %r : i8
  } -> tensor<3xi8>
  %e16 = tensor.empty() : tensor<3xi16>
  %x16 = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%i16 : tensor<3xi16>) outs(%e16 : tensor<3xi16>) {
  ^bb0(%v: i16, %o: i16):
    %r = arith.muli %v, %v : i16
    linalg.yield %r : i16
  } -> tensor<3xi16>
  %e32 = tensor.empty() : tensor<3xi32>
  %x32 = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%i32 : tensor<3xi32>) outs(%e32 : tensor<3xi32>) {
  ^bb0(%v: i32, %o: i32):
    %zero = arith.constant 0 : i32
    %r = arith.subi %zero, %v : i32
    linalg.yield %r : i32
  } -> tensor<3xi32>
  %e4 = tensor.empty() : tensor<1x2x1x2xf32>
  %y4 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%r4 : tensor<1x2x1x2xf32>) outs(%e4 : tensor<1x2x1x2xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.negf %v : f32
    linalg.yield %r : f32
  } -> tensor<1x2x1x2xf32>
  return %d2, %h2, %b2, %x8, %x16, %x32, %u8, %u64, %s, %y4
      : tensor<3xf64>, tensor<3xf16>, tensor<3xbf16>, tensor<3xi8>, tensor<3xi16>, tensor<3xi32>,
        tensor<3xui8>, tensor<2xui64>, tensor<f32>, tensor<1x2x1x2xf32>
}
