//===- Blocks.h - a tensor's blocks on a device mesh ------------*- C++ -*-===//
//
// The host side of a partitioned program: which block of a global tensor
// each rank holds (the partitioner's `sharding.partitioned` layouts), and
// the copies between global tensors and blocks. Ranks are numbered
// row-major over the mesh axes, as MPI ranks are.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_DISTRIBUTED_BLOCKS_H
#define PARTITA_LIB_DISTRIBUTED_BLOCKS_H

#include "partita/Runtime/Tensor.h"
#include "partita/Sharding/Annotations.h"

#include "mlir/IR/Attributes.h"
#include "mlir/Support/LLVM.h"

#include <vector>

namespace partita::blocks {

/// Per dimension: the mesh axis indices splitting it.
using Layout = std::vector<std::vector<int>>;

/// The layout a `sharding.partitioned` (or `sharding.sharding`) attribute
/// says, for a tensor of `rank` dimensions; whole when `a` is null; failure
/// for an axis `mesh` does not have.
mlir::FailureOr<Layout> layoutOf(mlir::Attribute a, const MeshSpec &mesh, size_t rank);

/// `rank`'s coordinate on each mesh axis.
std::vector<int64_t> coordsOf(int rank, const MeshSpec &mesh);

/// Block offsets (in elements, per dim) of `rank`'s block.
std::vector<int64_t> blockOffsets(const Layout &l, const std::vector<int64_t> &localShape,
                                  int rank, const MeshSpec &mesh);

/// Copies between a global tensor and one block (toBlock: global -> block).
void copyBlock(HostTensor &global, HostTensor &block, const std::vector<int64_t> &off,
               bool toBlock);

/// How many ranks of `mesh` hold each block of layout `l`: the mesh size
/// over the product of the axes splitting it.
int64_t copiesOf(const Layout &l, const MeshSpec &mesh);

/// Sends `block` and its offsets `off` in the global tensor to world rank
/// `dest` (MPI_COMM_WORLD, `tag`): a header of its shape and offsets, then
/// its bytes.
void sendBlock(const HostTensor &block, const std::vector<int64_t> &off, int dest, int tag);

/// Receives what sendBlock sent from world rank `src` into its place in
/// `global`.
void recvBlockInto(HostTensor &global, int src, int tag);

} // namespace partita::blocks

#endif // PARTITA_LIB_DISTRIBUTED_BLOCKS_H
