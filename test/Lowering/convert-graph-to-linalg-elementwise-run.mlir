// RUN: partita-opt %s --graph-to-linalg | %lower-to-llvm | %run-main | FileCheck %s

// Expected values computed by hand and with python3 (math.erf, math.exp);
// integer division/modulo follow np.trunc division, np.mod and np.fmod.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @print(%t: tensor<5xf32>) {
  %u = tensor.cast %t : tensor<5xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

// Integer div truncates; mod follows the divisor's sign (np.mod), fmod the
// dividend's (np.fmod).
func.func @intdiv(%a: tensor<5xi32>, %b: tensor<5xi32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
  %0 = graph.div %a, %b : (tensor<5xi32>, tensor<5xi32>) -> tensor<5xi32>
  %1 = graph.mod %a, %b : (tensor<5xi32>, tensor<5xi32>) -> tensor<5xi32>
  %2 = graph.mod %a, %b {fmod = true} : (tensor<5xi32>, tensor<5xi32>) -> tensor<5xi32>
  %f0 = graph.cast %0 {to = f32} : (tensor<5xi32>) -> tensor<5xf32>
  %f1 = graph.cast %1 {to = f32} : (tensor<5xi32>) -> tensor<5xf32>
  %f2 = graph.cast %2 {to = f32} : (tensor<5xi32>) -> tensor<5xf32>
  return %f0, %f1, %f2 : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
}

// Unsigned comparison and division, u8 wrap-free; cast f32 -> i32 truncates
// toward zero; f32 -> bool is != 0.
func.func @unsigned_cast(%a: tensor<5xui8>, %b: tensor<5xui8>, %x: tensor<5xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
  %0 = graph.less %a, %b : (tensor<5xui8>, tensor<5xui8>) -> tensor<5xi1>
  %1 = graph.div %a, %b : (tensor<5xui8>, tensor<5xui8>) -> tensor<5xui8>
  %2 = graph.cast %x {to = i32} : (tensor<5xf32>) -> tensor<5xi32>
  %3 = graph.cast %x {to = i1} : (tensor<5xf32>) -> tensor<5xi1>
  %f0 = graph.cast %0 {to = f32} : (tensor<5xi1>) -> tensor<5xf32>
  %f1 = graph.cast %1 {to = f32} : (tensor<5xui8>) -> tensor<5xf32>
  %f2 = graph.cast %2 {to = f32} : (tensor<5xi32>) -> tensor<5xf32>
  %f3 = graph.cast %3 {to = f32} : (tensor<5xi1>) -> tensor<5xf32>
  return %f0, %f1, %f2, %f3 : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
}

// Float activations and math.
func.func @floats(%x: tensor<5xf32>, %e: tensor<1xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
  %0 = graph.erf %x : tensor<5xf32>
  %1 = graph.sigmoid %x : tensor<5xf32>
  %2 = graph.pow %x, %e : (tensor<5xf32>, tensor<1xf32>) -> tensor<5xf32>
  %3 = graph.clip %x {min = -1.0 : f64, max = 2.0 : f64} : tensor<5xf32>
  %4 = graph.elu %x {alpha = 0.5 : f32} : tensor<5xf32>
  %c = graph.greater %x, %e : (tensor<5xf32>, tensor<1xf32>) -> tensor<5xi1>
  %5 = graph.where %c, %x, %e : (tensor<5xi1>, tensor<5xf32>, tensor<1xf32>) -> tensor<5xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
}

func.func @main() {
  %a = arith.constant dense<[-7, 7, -7, 7, 6]> : tensor<5xi32>
  %b = arith.constant dense<[3, -3, -3, 3, -4]> : tensor<5xi32>
  %d:3 = call @intdiv(%a, %b) : (tensor<5xi32>, tensor<5xi32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>)
  // CHECK: [-2,  -2,  2,  2,  -1]
  call @print(%d#0) : (tensor<5xf32>) -> ()
  // CHECK: [2,  -2,  -1,  1,  -2]
  call @print(%d#1) : (tensor<5xf32>) -> ()
  // CHECK: [-1,  1,  -1,  1,  2]
  call @print(%d#2) : (tensor<5xf32>) -> ()

  %ua = arith.constant dense<[200, 5, 255, 0, 128]> : tensor<5xi8>
  %ub = arith.constant dense<[100, 250, 2, 1, 127]> : tensor<5xi8>
  %ua8 = builtin.unrealized_conversion_cast %ua : tensor<5xi8> to tensor<5xui8>
  %ub8 = builtin.unrealized_conversion_cast %ub : tensor<5xi8> to tensor<5xui8>
  %x = arith.constant dense<[-2.7, 2.7, -0.5, 0.0, 3.0]> : tensor<5xf32>
  %u:4 = call @unsigned_cast(%ua8, %ub8, %x) : (tensor<5xui8>, tensor<5xui8>, tensor<5xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>)
  // CHECK: [0,  1,  0,  1,  0]
  call @print(%u#0) : (tensor<5xf32>) -> ()
  // CHECK: [2,  0,  127,  0,  1]
  call @print(%u#1) : (tensor<5xf32>) -> ()
  // CHECK: [-2,  2,  0,  0,  3]
  call @print(%u#2) : (tensor<5xf32>) -> ()
  // CHECK: [1,  1,  1,  0,  1]
  call @print(%u#3) : (tensor<5xf32>) -> ()

  %e = arith.constant dense<[2.0]> : tensor<1xf32>
  %f:6 = call @floats(%x, %e) : (tensor<5xf32>, tensor<1xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>)
  // CHECK: [-0.999866,  0.999866,  -0.5205,  0,  0.999978]
  call @print(%f#0) : (tensor<5xf32>) -> ()
  // CHECK: [0.0629734,  0.937027,  0.377541,  0.5,  0.952574]
  call @print(%f#1) : (tensor<5xf32>) -> ()
  // CHECK: [7.29,  7.29,  0.25,  0,  9]
  call @print(%f#2) : (tensor<5xf32>) -> ()
  // CHECK: [-1,  2,  -0.5,  0,  2]
  call @print(%f#3) : (tensor<5xf32>) -> ()
  // CHECK: [-0.466397,  2.7,  -0.196735,  0,  3]
  call @print(%f#4) : (tensor<5xf32>) -> ()
  // CHECK: [2,  2.7,  2,  2,  3]
  call @print(%f#5) : (tensor<5xf32>) -> ()
  return
}
