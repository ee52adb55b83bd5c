// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition | FileCheck %s

// Halo exchange for a conv split along H (stride 1, pads 1): the last row of
// the block goes one device up, the first one device down, within the "h"
// groups only (the batch is split over "d" too); the devices at the ends use
// zeros; the local conv runs without H padding.
sharding.mesh @mesh = <["d"=2, "h"=2]>
// CHECK-LABEL: func.func @conv_stride1
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x4x6xf32> {{.*}}, %[[W:.*]]: tensor<3x2x3x3xf32> {{.*}}, %[[B:.*]]: tensor<3xf32> {{.*}})
// CHECK: %[[LAST:.*]] = graph.slice %[[X]] {ends = array<i64: 1, 2, 4, 6>, starts = array<i64: 0, 0, 3, 0>, steps = array<i64: 1, 1, 1, 1>}
// CHECK: %[[POS:.*]] = collectives.axis_index on @mesh ["h"] : tensor<i64>
// CHECK: %[[FROMLO:.*]] = collectives.collective_permute %[[LAST]] on @mesh ["h"] {shift = 1 : i64} : tensor<1x2x1x6xf32>
// CHECK: %[[ONE:.*]] = graph.constant {value = dense<1> : tensor<i64>}
// CHECK: %[[HASLO:.*]] = graph.greater_equal %[[POS]], %[[ONE]]
// CHECK: %[[ZERO:.*]] = graph.constant {value = dense<0.000000e+00> : tensor<f32>}
// CHECK: %[[LO:.*]] = graph.where %[[HASLO]], %[[FROMLO]], %[[ZERO]]
// CHECK: %[[FIRST:.*]] = graph.slice %[[X]] {ends = array<i64: 1, 2, 1, 6>, starts = array<i64: 0, 0, 0, 0>
// CHECK: %[[FROMHI:.*]] = collectives.collective_permute %[[FIRST]] on @mesh ["h"] {shift = -1 : i64}
// CHECK: %[[ONE2:.*]] = graph.constant {value = dense<1> : tensor<i64>}
// CHECK: %[[HASHI:.*]] = graph.less %[[POS]], %[[ONE2]]
// CHECK: %[[HI:.*]] = graph.where %[[HASHI]], %[[FROMHI]], %[[ZERO]]
// CHECK: %[[EXT:.*]] = graph.concat %[[LO]], %[[X]], %[[HI]] {axis = 2 : i64} : ({{.*}}) -> tensor<1x2x6x6xf32>
// CHECK: %[[Y:.*]] = graph.conv %[[EXT]], %[[W]], %[[B]] {dilations = array<i64: 1, 1>, pads = array<i64: 0, 1, 0, 1>, strides = array<i64: 1, 1>} : ({{.*}}) -> tensor<1x3x4x6xf32>
// CHECK: return %[[Y]]
// CHECK-NOT: all_gather
func.func @conv_stride1(%x: tensor<2x2x8x6xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"d"}, {}, {"h"}, {}]>},
    %f: tensor<3x2x3x3xf32>, %bias: tensor<3xf32>) -> tensor<2x3x8x6xf32> {
  %y = graph.conv %x, %f, %bias {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x2x8x6xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<2x3x8x6xf32>
  return %y : tensor<2x3x8x6xf32>
}

// -----

// max_pool 3x3 stride 2 pads 1: windows of a block of 2 outputs read one row
// below the block (low halo) and none above; the first device pads with
// -inf, the lowest value.
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @max_pool_stride2
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["h"] {shift = 1 : i64} : tensor<1x2x1x6xf32>
// CHECK: %[[NEGINF:.*]] = graph.constant {value = dense<0xFF800000> : tensor<f32>}
// CHECK: %[[LO:.*]] = graph.where %{{.*}}, %{{.*}}, %[[NEGINF]]
// CHECK-NOT: collective_permute
// CHECK: %[[EXT:.*]] = graph.concat %[[LO]], %{{.*}} {axis = 2 : i64} : ({{.*}}) -> tensor<1x2x5x6xf32>
// CHECK: graph.max_pool %[[EXT]] {{{.*}}pads = array<i64: 0, 1, 0, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x5x6xf32>) -> tensor<1x2x2x3xf32>
func.func @max_pool_stride2(%x: tensor<1x2x8x6xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>}) -> tensor<1x2x4x3xf32> {
  %y = graph.max_pool %x {kernel_shape = array<i64: 3, 3>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x6xf32>) -> tensor<1x2x4x3xf32>
  return %y : tensor<1x2x4x3xf32>
}

// -----

// Integer max pooling pads with the type's lowest value.
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @int_max_pool
// CHECK: graph.constant {value = dense<-2147483648> : tensor<i32>}
// CHECK: graph.max_pool %{{.*}} : (tensor<1x1x6x4xi32>) -> tensor<1x1x4x4xi32>
func.func @int_max_pool(%x: tensor<1x1x8x4xi32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>}) -> tensor<1x1x8x4xi32> {
  %y = graph.max_pool %x {kernel_shape = array<i64: 3, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 0, 1, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x8x4xi32>) -> tensor<1x1x8x4xi32>
  return %y : tensor<1x1x8x4xi32>
}

// -----

// average_pool without count_include_pad: the local pool counts the zero
// rows that replace missing neighbours; a mask of real rows (where(has
// neighbour, 1, 0) + ones + where(...)), pooled the same way, corrects it.
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @avg_pool_exclude_pad
// CHECK: %[[HASLO:.*]] = graph.greater_equal
// CHECK: %[[ZERO:.*]] = graph.constant {value = dense<0.000000e+00> : tensor<f32>}
// CHECK: %[[LO:.*]] = graph.where %[[HASLO]], %{{.*}}, %[[ZERO]] : ({{.*}}) -> tensor<1x2x1x6xf32>
// CHECK: %[[ONE:.*]] = graph.constant {value = dense<1.000000e+00> : tensor<1xf32>}
// CHECK: %[[MLO:.*]] = graph.where %[[HASLO]], %[[ONE]], %[[ZERO]] : ({{.*}}) -> tensor<1xf32>
// CHECK: %[[MID:.*]] = graph.constant {value = dense<1.000000e+00> : tensor<4xf32>}
// CHECK: %[[HASHI:.*]] = graph.less
// CHECK: %[[MHI:.*]] = graph.where %[[HASHI]], %{{.*}}, %[[ZERO]] : ({{.*}}) -> tensor<1xf32>
// CHECK: %[[EXT:.*]] = graph.concat %[[LO]], %{{.*}}, %{{.*}} {axis = 2 : i64}
// CHECK: %[[ROWS:.*]] = graph.concat %[[MLO]], %[[MID]], %[[MHI]] {axis = 0 : i64} : ({{.*}}) -> tensor<6xf32>
// CHECK: %[[SUM:.*]] = graph.average_pool %[[EXT]] {{{.*}}pads = array<i64: 0, 1, 0, 1>{{.*}}} : (tensor<1x2x6x6xf32>) -> tensor<1x2x4x6xf32>
// CHECK: %[[SHAPED:.*]] = graph.reshape %[[ROWS]] {shape = array<i64: 1, 1, 6, 1>}
// CHECK: %[[MASK:.*]] = graph.mul %{{.*}}, %[[SHAPED]] : ({{.*}}) -> tensor<1x1x6x6xf32>
// CHECK: %[[COUNT:.*]] = graph.average_pool %[[MASK]] {{{.*}}} : (tensor<1x1x6x6xf32>) -> tensor<1x1x4x6xf32>
// CHECK: %[[AVG:.*]] = graph.div %[[SUM]], %[[COUNT]]
// CHECK: return %[[AVG]]
func.func @avg_pool_exclude_pad(%x: tensor<1x2x8x6xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>}) -> tensor<1x2x8x6xf32> {
  %y = graph.average_pool %x {kernel_shape = array<i64: 3, 3>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>, count_include_pad = false} : (tensor<1x2x8x6xf32>) -> tensor<1x2x8x6xf32>
  return %y : tensor<1x2x8x6xf32>
}

// -----

// A low halo of 5 rows (dilation 3, pads 5/1) over blocks of 4 (H split
// over the 2-D group a x b): one row from two devices below, the whole
// block from the next; permutes over the group ["a", "b"].
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @two_hops
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x4x4xf32>
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["a", "b"] {shift = 2 : i64} : tensor<1x1x1x4xf32>
// CHECK: graph.constant {value = dense<2> : tensor<i64>}
// CHECK: collectives.collective_permute %[[X]] on @mesh ["a", "b"] {shift = 1 : i64} : tensor<1x1x4x4xf32>
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["a", "b"] {shift = -1 : i64} : tensor<1x1x1x4xf32>
// CHECK: graph.constant {value = dense<3> : tensor<i64>}
// CHECK: graph.concat {{.*}} -> tensor<1x1x10x4xf32>
// CHECK: graph.conv {{.*}}pads = array<i64: 0, 0, 0, 0>{{.*}} -> tensor<1x1x4x4xf32>
func.func @two_hops(%x: tensor<1x1x16x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"a", "b"}, {}]>}, %f: tensor<1x1x3x1xf32>) -> tensor<1x1x16x4xf32> {
  %y = graph.conv %x, %f {dilations = array<i64: 3, 1>, pads = array<i64: 5, 0, 1, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x16x4xf32>, tensor<1x1x3x1xf32>) -> tensor<1x1x16x4xf32>
  return %y : tensor<1x1x16x4xf32>
}

// -----

// The same conv on 2 devices: no device is two positions away, so that row
// is padding on every device (a constant, no permute).
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @beyond_ring
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x4x4xf32>
// CHECK: %[[PAD:.*]] = graph.constant {value = dense<0.000000e+00> : tensor<1x1x1x4xf32>}
// CHECK: collectives.collective_permute %[[X]] on @mesh ["h"] {shift = 1 : i64}
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["h"] {shift = -1 : i64}
// CHECK-NOT: collective_permute
// CHECK: graph.concat %[[PAD]], {{.*}} -> tensor<1x1x10x4xf32>
func.func @beyond_ring(%x: tensor<1x1x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>}, %f: tensor<1x1x3x1xf32>) -> tensor<1x1x8x4xf32> {
  %y = graph.conv %x, %f {dilations = array<i64: 3, 1>, pads = array<i64: 5, 0, 1, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x8x4xf32>, tensor<1x1x3x1xf32>) -> tensor<1x1x8x4xf32>
  return %y : tensor<1x1x8x4xf32>
}

// -----

// A 1x1 conv with stride 2 reads rows 0, 2, 4, ...: no halo; the last row
// of each block is read by no window and is dropped.
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @drop_rows
// CHECK-NOT: collectives.
// CHECK: %[[KEPT:.*]] = graph.slice %{{.*}} {ends = array<i64: 1, 1, 3, 4>, starts = array<i64: 0, 0, 0, 0>
// CHECK: graph.conv %[[KEPT]], %{{.*}} : (tensor<1x1x3x4xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x4xf32>
// CHECK-NOT: collectives.
func.func @drop_rows(%x: tensor<1x1x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>}, %f: tensor<1x1x1x1xf32>) -> tensor<1x1x4x4xf32> {
  %y = graph.conv %x, %f {dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 1>} : (tensor<1x1x8x4xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// H and W both split: W halos are taken from the H-extended block, so the
// corner rows travel too (permutes over "w" of a 6-row tensor).
sharding.mesh @mesh = <["h"=2, "w"=2]>
// CHECK-LABEL: func.func @two_dims
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["h"] {shift = 1 : i64} : tensor<1x1x1x3xf32>
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["h"] {shift = -1 : i64} : tensor<1x1x1x3xf32>
// CHECK: graph.concat {{.*}} {axis = 2 : i64} : ({{.*}}) -> tensor<1x1x6x3xf32>
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["w"] {shift = 1 : i64} : tensor<1x1x6x1xf32>
// CHECK: collectives.collective_permute %{{.*}} on @mesh ["w"] {shift = -1 : i64} : tensor<1x1x6x1xf32>
// CHECK: graph.concat {{.*}} {axis = 3 : i64} : ({{.*}}) -> tensor<1x1x6x5xf32>
// CHECK: graph.conv {{.*}}pads = array<i64: 0, 0, 0, 0>{{.*}} -> tensor<1x1x4x3xf32>
func.func @two_dims(%x: tensor<1x1x8x6xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {"w"}]>}, %f: tensor<1x1x3x3xf32>) -> tensor<1x1x8x6xf32> {
  %y = graph.conv %x, %f {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x1x8x6xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x8x6xf32>
  return %y : tensor<1x1x8x6xf32>
}

// -----

// Stride 2 without padding: 8 rows give 3 outputs (3 * 2 != 8), so H cannot
// split: propagation keeps the conv's output whole and the input is gathered.
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @infeasible
// CHECK-SAME: -> (tensor<1x1x3x2xf32> {sharding.partitioned = #sharding.tensor<@mesh, [{}, {}, {}, {}]>})
// CHECK: %[[G:.*]] = collectives.all_gather %{{.*}} on @mesh ["h"] {dim = 2 : i64} : (tensor<1x1x4x4xf32>) -> tensor<1x1x8x4xf32>
// CHECK: graph.conv %[[G]]
// CHECK-NOT: collective_permute
func.func @infeasible(%x: tensor<1x1x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>}, %f: tensor<1x1x3x3xf32>) -> tensor<1x1x3x2xf32> {
  %y = graph.conv %x, %f {dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 1>} : (tensor<1x1x8x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x3x2xf32>
  return %y : tensor<1x1x3x2xf32>
}
