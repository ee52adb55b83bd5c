// RUN: partita-opt %s -split-input-file -verify-diagnostics

func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.all_reduce' op refers to unknown mesh @nowhere}}
  %0 = collectives.all_reduce %x on @nowhere ["a"] : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

sharding.mesh @mesh = <["a"=2]>
func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.all_reduce' op unknown axis "b" of mesh @mesh}}
  %0 = collectives.all_reduce %x on @mesh ["b"] : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

sharding.mesh @mesh = <["a"=2]>
func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.all_reduce' op axis "a" is listed twice}}
  %0 = collectives.all_reduce %x on @mesh ["a", "a"] : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

sharding.mesh @mesh = <["a"=2]>
func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.all_gather' op expected result dimension 0 of size 16 (group of 2 devices), got 8}}
  %0 = collectives.all_gather %x on @mesh ["a"] {dim = 0 : i64} : (tensor<8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

sharding.mesh @mesh = <["a"=3]>
func.func @f(%x: tensor<8xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'collectives.axis_slice' op expected result dimension 0 of size 2 (group of 3 devices), got 2}}
  %0 = collectives.axis_slice %x on @mesh ["a"] {dim = 0 : i64} : (tensor<8xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

sharding.mesh @mesh = <["a"=2]>
func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.all_reduce' op needs at least one mesh axis}}
  %0 = collectives.all_reduce %x on @mesh [] : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

sharding.mesh @mesh = <["a"=2]>
func.func @f(%x: tensor<8xf32>) {
  // expected-error @+1 {{'collectives.send' op shift 2 does not reach another device of a 2-device group}}
  collectives.send %x on @mesh ["a"] {shift = 2 : i64} : tensor<8xf32>
  return
}

// -----

sharding.mesh @mesh = <["a"=4]>
func.func @f() -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.recv' op shift 0 does not reach another device of a 4-device group}}
  %0 = collectives.recv on @mesh ["a"] {shift = 0 : i64} : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @f() -> tensor<8xf32> {
  // expected-error @+1 {{'collectives.recv' op refers to unknown mesh @nomesh}}
  %0 = collectives.recv on @nomesh ["a"] {shift = 1 : i64} : tensor<8xf32>
  return %0 : tensor<8xf32>
}
