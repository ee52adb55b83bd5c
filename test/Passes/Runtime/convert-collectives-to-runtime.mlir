// RUN: partita-opt %s -split-input-file --convert-collectives-to-runtime | FileCheck %s

// Groups are numbered in order of first use and recorded on the module.
// CHECK: module attributes {partita.collective_groups = {{\[}}["model"], ["data"], ["data", "model"], ["model", "data"]], partita.collective_mesh = @mesh}
sharding.mesh @mesh = <["data"=2, "model"=2]>

// CHECK-LABEL: func.func @all_reduce
// CHECK-DAG: %[[COUNT:.*]] = arith.constant 24 : i64
// CHECK-DAG: %[[F32:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[MAX:.*]] = arith.constant 1 : i32
// The runtime reads a private copy of the input (its pointer is invisible to
// bufferization, so the tensor's own buffer could be reused before the call).
// CHECK: %[[COPY:.*]] = bufferization.alloc_tensor() copy(%arg0) : tensor<4x6xf32>
// CHECK: %[[IN:.*]] = bufferization.to_buffer %[[COPY]] read_only : tensor<4x6xf32> to memref<4x6xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<4x6xf32>
// CHECK: %[[IP:.*]] = memref.extract_aligned_pointer_as_index %[[IN]]
// CHECK: %[[II:.*]] = arith.index_cast %[[IP]] : index to i64
// CHECK: %[[INPTR:.*]] = llvm.inttoptr %[[II]] : i64 to !llvm.ptr
// CHECK: %[[OUTPTR:.*]] = llvm.inttoptr
// CHECK: call @partita_all_reduce(%[[INPTR]], %[[OUTPTR]], %[[COUNT]], %[[F32]], %[[MAX]], %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64, i32, i32, i32) -> ()
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<4x6xf32> to tensor<4x6xf32>
// CHECK: return %[[R]]
func.func @all_reduce(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %a = collectives.all_reduce %x on @mesh ["model"] {reduction = #collectives<reduction max>} : tensor<4x6xf32>
  return %a : tensor<4x6xf32>
}

// all_gather along dim 0 of 2x3 (i64 = dtype 8): outer 1, inner 6; group 1 (data).
// CHECK-LABEL: func.func @all_gather
// CHECK: call @partita_all_gather(%{{.*}}, %{{.*}}, %c1_i64, %c6_i64, %c8_i32, %c1_i32)
// CHECK: bufferization.to_tensor {{.*}} : memref<4x3xi64> to tensor<4x3xi64>
func.func @all_gather(%y: tensor<2x3xi64>) -> tensor<4x3xi64> {
  %e = collectives.all_gather %y on @mesh ["data"] {dim = 0 : i64} : (tensor<2x3xi64>) -> tensor<4x3xi64>
  return %e : tensor<4x3xi64>
}

// reduce_scatter 4x6 -> 4x3 along dim 1: outer 4 (result rows), inner 3.
// CHECK-LABEL: func.func @reduce_scatter
// CHECK: call @partita_reduce_scatter(%{{.*}}, %{{.*}}, %c4_i64, %c3_i64, %c0_i32{{.*}}, %c0_i32{{.*}}, %c0_i32{{.*}})
func.func @reduce_scatter(%x: tensor<4x6xf32>) -> tensor<4x3xf32> {
  %c = collectives.reduce_scatter %x on @mesh ["model"] {dim = 1 : i64} : (tensor<4x6xf32>) -> tensor<4x3xf32>
  return %c : tensor<4x3xf32>
}

// all_to_all 4x6 split 0 / concat 1 over 2: (1, 12) and (2, 6).
// CHECK-LABEL: func.func @all_to_all
// CHECK: call @partita_all_to_all(%{{.*}}, %{{.*}}, %c1_i64, %c12_i64, %c2_i64, %c6_i64,
func.func @all_to_all(%x: tensor<4x6xf32>) -> tensor<2x12xf32> {
  %d = collectives.all_to_all %x on @mesh ["model"] {split_dim = 0 : i64, concat_dim = 1 : i64} : (tensor<4x6xf32>) -> tensor<2x12xf32>
  return %d : tensor<2x12xf32>
}

// CHECK-LABEL: func.func @permute
// CHECK: call @partita_collective_permute(%{{.*}}, %{{.*}}, %c24_i64, %c-1_i64,
func.func @permute(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %b = collectives.collective_permute %x on @mesh ["data"] {shift = -1 : i64} : tensor<4x6xf32>
  return %b : tensor<4x6xf32>
}

// Point to point: send reads a private copy of its input; recv fills a
// fresh buffer. Both keep their order (neither is Pure).
// CHECK-LABEL: func.func @send_recv
// CHECK: %[[COPY:.*]] = bufferization.alloc_tensor() copy(%arg0) : tensor<4x6xf32>
// CHECK: call @partita_send(%{{.*}}, %c24_i64{{.*}}, %c1_i64{{.*}}, %c0_i32{{.*}}, %c1_i32{{.*}}) : (!llvm.ptr, i64, i64, i32, i32) -> ()
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<4x6xf32>
// CHECK: call @partita_recv(%{{.*}}, %c24_i64{{.*}}, %c1_i64{{.*}}, %c0_i32{{.*}}, %c1_i32{{.*}}) : (!llvm.ptr, i64, i64, i32, i32) -> ()
// CHECK: bufferization.to_tensor %[[OUT]]
func.func @send_recv(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  collectives.send %x on @mesh ["data"] {shift = 1 : i64} : tensor<4x6xf32>
  %r = collectives.recv on @mesh ["data"] {shift = 1 : i64} : tensor<4x6xf32>
  return %r : tensor<4x6xf32>
}

// axis_index: the group position in a 0-d tensor (group 2: data, model).
// CHECK-LABEL: func.func @axis_index
// CHECK: %[[P:.*]] = call @partita_group_position(%c2_i32) : (i32) -> i64
// CHECK: tensor.from_elements %[[P]] : tensor<i64>
func.func @axis_index() -> tensor<i64> {
  %f = collectives.axis_index on @mesh ["data", "model"] : tensor<i64>
  return %f : tensor<i64>
}

// axis_slice: no communication, a slice at position * block (group 3:
// model, data -- a different order is a different group).
// CHECK-LABEL: func.func @axis_slice
// CHECK: %[[P:.*]] = call @partita_group_position(%c3_i32) : (i32) -> i64
// CHECK: %[[PI:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK: %[[OFF:.*]] = arith.muli %[[PI]], %c1 : index
// CHECK: tensor.extract_slice %arg0[%[[OFF]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
func.func @axis_slice(%x: tensor<4x6xf32>) -> tensor<1x6xf32> {
  %g = collectives.axis_slice %x on @mesh ["model", "data"] {dim = 0 : i64} : (tensor<4x6xf32>) -> tensor<1x6xf32>
  return %g : tensor<1x6xf32>
}


// -----

// Module without collectives: unchanged, no table.
// CHECK-NOT: partita.collective_groups
// CHECK-LABEL: func.func @none
func.func @none(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// A table the host fixed keeps its numbers: ["model"] is group 1 here, and
// a group the table lacks is appended (2).
// CHECK: module attributes {partita.collective_groups = {{\[}}["data"], ["model"], ["data", "model"]], partita.collective_mesh = @mesh}
// CHECK-LABEL: func.func @preset
// CHECK: %[[G1:.*]] = arith.constant 1 : i32
// CHECK: call @partita_all_reduce({{.*}}, %[[G1]])
// CHECK: %[[G2:.*]] = arith.constant 2 : i32
// CHECK: call @partita_all_reduce({{.*}}, %[[G2]])
module attributes {partita.collective_groups = [["data"], ["model"]], partita.collective_mesh = @mesh} {
  sharding.mesh @mesh = <["data"=2, "model"=2]>
  func.func @preset(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
    %a = collectives.all_reduce %x on @mesh ["model"] {reduction = #collectives<reduction sum>} : tensor<4x6xf32>
    %b = collectives.all_reduce %a on @mesh ["data", "model"] {reduction = #collectives<reduction sum>} : tensor<4x6xf32>
    return %b : tensor<4x6xf32>
  }
}
