// RUN: partita-opt %s --convert-graph-to-linalg -split-input-file | FileCheck %s

// Broadcasting: the size-1 and missing leading dimensions read index 0.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[B1:.*]] = affine_map<(d0, d1, d2) -> (0, d1, 0)>
// CHECK-DAG: #[[B2:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func.func @add_broadcast
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[B1]], #[[B2]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: outs(%[[E]] : tensor<2x3x4xf32>)
// CHECK: arith.addf
func.func @add_broadcast(%a: tensor<1x3x1xf32>, %b: tensor<2x1x4xf32>) -> tensor<2x3x4xf32> {
  %0 = graph.add %a, %b : (tensor<1x3x1xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Unsigned integers become signless; the arith ops carry the signedness.
// CHECK-LABEL: func.func @unsigned
// CHECK-SAME: (%{{.*}}: tensor<4xi8>, %{{.*}}: tensor<4xi8>) -> (tensor<4xi8>, tensor<4xi1>, tensor<4xi8>, tensor<4xf32>, tensor<4xi32>)
// CHECK: arith.divui
// CHECK: arith.cmpi ult
// CHECK: arith.maxui
// CHECK: arith.uitofp %{{.*}} : i8 to f32
// CHECK: arith.extui %{{.*}} : i8 to i32
func.func @unsigned(%a: tensor<4xui8>, %b: tensor<4xui8>) -> (tensor<4xui8>, tensor<4xi1>, tensor<4xui8>, tensor<4xf32>, tensor<4xi32>) {
  %0 = graph.div %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  %1 = graph.less %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  %2 = graph.max %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  %3 = graph.cast %a {to = f32} : (tensor<4xui8>) -> tensor<4xf32>
  %4 = graph.cast %a {to = i32} : (tensor<4xui8>) -> tensor<4xi32>
  return %0, %1, %2, %3, %4 : tensor<4xui8>, tensor<4xi1>, tensor<4xui8>, tensor<4xf32>, tensor<4xi32>
}

// -----

// Signed integer division truncates; mod takes the divisor's sign unless fmod.
// CHECK-LABEL: func.func @signed_int
// CHECK: arith.divsi
// CHECK: %[[R:.*]] = arith.remsi
// CHECK: arith.xori
// CHECK: arith.addi %[[R]]
// CHECK: arith.select
// CHECK: arith.remsi
// CHECK-NOT: arith.select
// CHECK: math.ipowi
func.func @signed_int(%a: tensor<4xi32>, %b: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) {
  %0 = graph.div %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %1 = graph.mod %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %2 = graph.mod %a, %b {fmod = true} : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %3 = graph.pow %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0, %1, %2, %3 : tensor<4xi32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>
}

// -----

// Cast follows ONNX: float to int truncates toward zero, to bool is != 0
// (NaN is true), bool to float is 0/1.
// CHECK-LABEL: func.func @casts
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: arith.cmpf une
// CHECK: arith.uitofp %{{.*}} : i1 to f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @casts(%a: tensor<4xf32>, %b: tensor<4xi1>) -> (tensor<4xi32>, tensor<4xi1>, tensor<4xf32>, tensor<4xf16>) {
  %0 = graph.cast %a {to = i32} : (tensor<4xf32>) -> tensor<4xi32>
  %1 = graph.cast %a {to = i1} : (tensor<4xf32>) -> tensor<4xi1>
  %2 = graph.cast %b {to = f32} : (tensor<4xi1>) -> tensor<4xf32>
  %3 = graph.cast %a {to = f16} : (tensor<4xf32>) -> tensor<4xf16>
  return %0, %1, %2, %3 : tensor<4xi32>, tensor<4xi1>, tensor<4xf32>, tensor<4xf16>
}

// -----

// Transcendentals on f16 are computed in f32.
// CHECK-LABEL: func.func @erf_f16
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: math.erf %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @erf_f16(%a: tensor<4xf16>) -> tensor<4xf16> {
  %0 = graph.erf %a : tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// CHECK-LABEL: func.func @where_clip
// CHECK: arith.select
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK: arith.cmpf ogt
// CHECK: arith.select
func.func @where_clip(%c: tensor<2x1xi1>, %a: tensor<3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = graph.where %c, %a, %b : (tensor<2x1xi1>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = graph.clip %0 {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
