// RUN: partita-opt %s | partita-opt | FileCheck %s
// RUN: partita-opt %s --mlir-print-op-generic | partita-opt | FileCheck %s

// Round trip of the elementwise family: unary, cast, broadcasting binary,
// comparisons and where, over the element types the dialect accepts.

// CHECK-LABEL: func.func @unary_any_type
// CHECK: graph.abs %arg0 : tensor<2x3xi32>
// CHECK: graph.neg %arg1 : tensor<2x3xbf16>
// CHECK: graph.sign %arg2 : tensor<2x3xi8>
// CHECK: graph.relu %arg3 : tensor<2x3xf16>
// CHECK: graph.not %arg4 : tensor<4xi1>
func.func @unary_any_type(%a0: tensor<2x3xi32>, %a1: tensor<2x3xbf16>, %a2: tensor<2x3xi8>, %a3: tensor<2x3xf16>, %b: tensor<4xi1>) {
  %0 = graph.abs %a0 : tensor<2x3xi32>
  %1 = graph.neg %a1 : tensor<2x3xbf16>
  %2 = graph.sign %a2 : tensor<2x3xi8>
  %3 = graph.relu %a3 : tensor<2x3xf16>
  %n = graph.not %b : tensor<4xi1>
  return
}

// CHECK-LABEL: func.func @unary_float
// CHECK: graph.ceil %arg0 : tensor<8xf32>
// CHECK: graph.floor %arg1 : tensor<8xf16>
// CHECK: graph.reciprocal %arg2 : tensor<8xbf16>
// CHECK: graph.sqrt %arg3 : tensor<8xf64>
// CHECK: graph.exp %arg0 : tensor<8xf32>
// CHECK: graph.log %arg1 : tensor<8xf16>
// CHECK: graph.sin %arg2 : tensor<8xbf16>
// CHECK: graph.cos %arg3 : tensor<8xf64>
// CHECK: graph.tanh %arg0 : tensor<8xf32>
// CHECK: graph.erf %arg1 : tensor<8xf16>
// CHECK: graph.sigmoid %arg2 : tensor<8xbf16>
// CHECK: graph.softplus %arg3 : tensor<8xf64>
// CHECK: graph.softsign %arg0 : tensor<8xf32>
// CHECK: graph.hard_swish %arg1 : tensor<8xf16>
func.func @unary_float(%a0: tensor<8xf32>, %a1: tensor<8xf16>, %a2: tensor<8xbf16>, %a3: tensor<8xf64>) {
  %0 = graph.ceil %a0 : tensor<8xf32>
  %1 = graph.floor %a1 : tensor<8xf16>
  %2 = graph.reciprocal %a2 : tensor<8xbf16>
  %3 = graph.sqrt %a3 : tensor<8xf64>
  %4 = graph.exp %a0 : tensor<8xf32>
  %5 = graph.log %a1 : tensor<8xf16>
  %6 = graph.sin %a2 : tensor<8xbf16>
  %7 = graph.cos %a3 : tensor<8xf64>
  %8 = graph.tanh %a0 : tensor<8xf32>
  %9 = graph.erf %a1 : tensor<8xf16>
  %10 = graph.sigmoid %a2 : tensor<8xbf16>
  %11 = graph.softplus %a3 : tensor<8xf64>
  %12 = graph.softsign %a0 : tensor<8xf32>
  %13 = graph.hard_swish %a1 : tensor<8xf16>
  return
}

// Unary ops with attributes: explicit values survive, defaults are elided.
// CHECK-LABEL: func.func @unary_attrs
// CHECK: graph.elu %arg0 {alpha = 5.000000e-01 : f32} : tensor<4xf32>
// CHECK: graph.elu %arg0 : tensor<4xf32>
// CHECK: graph.celu %arg0 {alpha = 2.000000e+00 : f32} : tensor<4xf32>
// CHECK: graph.selu %arg0 {alpha = 1.500000e+00 : f32, gamma = 1.000000e+00 : f32} : tensor<4xf32>
// CHECK: graph.selu %arg0 : tensor<4xf32>
// CHECK: graph.leaky_relu %arg0 {alpha = 1.000000e-01 : f32} : tensor<4xf32>
// CHECK: graph.hard_sigmoid %arg0 {alpha = 2.500000e-01 : f32, beta = 0.000000e+00 : f32} : tensor<4xf32>
// CHECK: graph.thresholded_relu %arg0 {alpha = 3.000000e+00 : f32} : tensor<4xf32>
// CHECK: graph.clip %arg0 {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64} : tensor<4xf32>
// CHECK: graph.clip %arg0 {max = 6.000000e+00 : f64} : tensor<4xf32>
// CHECK: graph.clip %arg1 {min = 0.000000e+00 : f64} : tensor<4xi64>
// CHECK: graph.clip %arg1 : tensor<4xi64>
func.func @unary_attrs(%x: tensor<4xf32>, %i: tensor<4xi64>) {
  %0 = graph.elu %x {alpha = 0.5 : f32} : tensor<4xf32>
  %1 = graph.elu %x : tensor<4xf32>
  %2 = graph.celu %x {alpha = 2.0 : f32} : tensor<4xf32>
  %3 = graph.selu %x {alpha = 1.5 : f32, gamma = 1.0 : f32} : tensor<4xf32>
  %4 = graph.selu %x : tensor<4xf32>
  %5 = graph.leaky_relu %x {alpha = 0.1 : f32} : tensor<4xf32>
  %6 = graph.hard_sigmoid %x {alpha = 0.25 : f32, beta = 0.0 : f32} : tensor<4xf32>
  %7 = graph.thresholded_relu %x {alpha = 3.0 : f32} : tensor<4xf32>
  %8 = graph.clip %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<4xf32>
  %9 = graph.clip %x {max = 6.0 : f64} : tensor<4xf32>
  %10 = graph.clip %i {min = 0.0 : f64} : tensor<4xi64>
  %11 = graph.clip %i : tensor<4xi64>
  return
}

// CHECK-LABEL: func.func @cast
// CHECK: graph.cast %arg0 {to = f16} : (tensor<2x3xf32>) -> tensor<2x3xf16>
// CHECK: graph.cast %arg0 {to = i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
// CHECK: graph.cast %arg1 {to = bf16} : (tensor<2xui8>) -> tensor<2xbf16>
// CHECK: graph.cast %arg1 {to = i1} : (tensor<2xui8>) -> tensor<2xi1>
func.func @cast(%x: tensor<2x3xf32>, %u: tensor<2xui8>) -> (tensor<2x3xf16>, tensor<2x3xi64>, tensor<2xbf16>, tensor<2xi1>) {
  %0 = graph.cast %x {to = f16} : (tensor<2x3xf32>) -> tensor<2x3xf16>
  %1 = graph.cast %x {to = i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
  %2 = graph.cast %u {to = bf16} : (tensor<2xui8>) -> tensor<2xbf16>
  %3 = graph.cast %u {to = i1} : (tensor<2xui8>) -> tensor<2xi1>
  return %0, %1, %2, %3 : tensor<2x3xf16>, tensor<2x3xi64>, tensor<2xbf16>, tensor<2xi1>
}

// Arithmetic broadcasts numpy-style (trailing alignment, size-1 stretching).
// CHECK-LABEL: func.func @arith
// CHECK: graph.add %arg0, %arg1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK: graph.sub %arg1, %arg0 : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: graph.mul %arg0, %arg2 : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: graph.div %arg3, %arg4 : (tensor<4x1xi32>, tensor<1x5xi32>) -> tensor<4x5xi32>
// CHECK: graph.max %arg5, %arg5 : (tensor<2xf64>, tensor<2xf64>) -> tensor<2xf64>
// CHECK: graph.min %arg6, %arg6 : (tensor<3xui8>, tensor<3xui8>) -> tensor<3xui8>
// CHECK: graph.mod %arg3, %arg4 : (tensor<4x1xi32>, tensor<1x5xi32>) -> tensor<4x5xi32>
// CHECK: graph.mod %arg0, %arg1 {fmod = true} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK: graph.pow %arg0, %arg7 : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x3xf32>
// CHECK: graph.prelu %arg0, %arg1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
func.func @arith(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %s: tensor<f32>,
                 %i: tensor<4x1xi32>, %j: tensor<1x5xi32>, %d: tensor<2xf64>,
                 %u: tensor<3xui8>, %e: tensor<1xi64>) {
  %0 = graph.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = graph.sub %b, %a : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = graph.mul %a, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %3 = graph.div %i, %j : (tensor<4x1xi32>, tensor<1x5xi32>) -> tensor<4x5xi32>
  %4 = graph.max %d, %d : (tensor<2xf64>, tensor<2xf64>) -> tensor<2xf64>
  %5 = graph.min %u, %u : (tensor<3xui8>, tensor<3xui8>) -> tensor<3xui8>
  %6 = graph.mod %i, %j : (tensor<4x1xi32>, tensor<1x5xi32>) -> tensor<4x5xi32>
  %7 = graph.mod %a, %b {fmod = true} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %8 = graph.pow %a, %e : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x3xf32>
  %9 = graph.prelu %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// CHECK-LABEL: func.func @logical_and_compare
// CHECK: graph.and %arg0, %arg1 : (tensor<2x4xi1>, tensor<4xi1>) -> tensor<2x4xi1>
// CHECK: graph.or %arg0, %arg1 : (tensor<2x4xi1>, tensor<4xi1>) -> tensor<2x4xi1>
// CHECK: graph.xor %arg0, %arg0 : (tensor<2x4xi1>, tensor<2x4xi1>) -> tensor<2x4xi1>
// CHECK: graph.equal %arg2, %arg3 : (tensor<2x4xf16>, tensor<1x4xf16>) -> tensor<2x4xi1>
// CHECK: graph.greater %arg2, %arg3 : (tensor<2x4xf16>, tensor<1x4xf16>) -> tensor<2x4xi1>
// CHECK: graph.greater_equal %arg4, %arg4 : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi1>
// CHECK: graph.less %arg4, %arg4 : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi1>
// CHECK: graph.less_equal %arg2, %arg3 : (tensor<2x4xf16>, tensor<1x4xf16>) -> tensor<2x4xi1>
func.func @logical_and_compare(%p: tensor<2x4xi1>, %q: tensor<4xi1>,
                               %x: tensor<2x4xf16>, %y: tensor<1x4xf16>,
                               %i: tensor<4xi8>) {
  %0 = graph.and %p, %q : (tensor<2x4xi1>, tensor<4xi1>) -> tensor<2x4xi1>
  %1 = graph.or %p, %q : (tensor<2x4xi1>, tensor<4xi1>) -> tensor<2x4xi1>
  %2 = graph.xor %p, %p : (tensor<2x4xi1>, tensor<2x4xi1>) -> tensor<2x4xi1>
  %3 = graph.equal %x, %y : (tensor<2x4xf16>, tensor<1x4xf16>) -> tensor<2x4xi1>
  %4 = graph.greater %x, %y : (tensor<2x4xf16>, tensor<1x4xf16>) -> tensor<2x4xi1>
  %5 = graph.greater_equal %i, %i : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi1>
  %6 = graph.less %i, %i : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi1>
  %7 = graph.less_equal %x, %y : (tensor<2x4xf16>, tensor<1x4xf16>) -> tensor<2x4xi1>
  return
}

// All three operands of where broadcast together.
// CHECK-LABEL: func.func @where
// CHECK: graph.where %arg0, %arg1, %arg2 : (tensor<3x1xi1>, tensor<4xbf16>, tensor<bf16>) -> tensor<3x4xbf16>
func.func @where(%c: tensor<3x1xi1>, %x: tensor<4xbf16>, %y: tensor<bf16>) -> tensor<3x4xbf16> {
  %0 = graph.where %c, %x, %y : (tensor<3x1xi1>, tensor<4xbf16>, tensor<bf16>) -> tensor<3x4xbf16>
  return %0 : tensor<3x4xbf16>
}
