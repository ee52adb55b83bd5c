//===- Blocks.cpp - a tensor's blocks on a device mesh --------------------===//

#include "Blocks.h"

#include "dialects/Sharding/IR/ShardingOps.h"

#include <mpi.h>

#include <algorithm>
#include <cstring>

using namespace mlir;

namespace partita::blocks {

FailureOr<Layout> layoutOf(Attribute a, const MeshSpec &mesh, size_t rank) {
  Layout l(rank);
  auto s = dyn_cast_or_null<sharding::TensorShardingAttr>(a);
  if (!s)
    return l;
  for (auto [d, dim] : llvm::enumerate(s.getDims()))
    for (StringAttr axis : dim.getAxes()) {
      int idx = -1;
      for (size_t i = 0; i < mesh.axes.size(); ++i)
        if (mesh.axes[i].first == axis.getValue())
          idx = (int)i;
      if (idx < 0)
        return failure();
      l[d].push_back(idx);
    }
  return l;
}

std::vector<int64_t> coordsOf(int rank, const MeshSpec &mesh) {
  std::vector<int64_t> c(mesh.axes.size());
  for (int i = (int)mesh.axes.size() - 1; i >= 0; --i) {
    c[i] = rank % mesh.axes[i].second;
    rank /= (int)mesh.axes[i].second;
  }
  return c;
}

std::vector<int64_t> blockOffsets(const Layout &l, const std::vector<int64_t> &localShape,
                                  int rank, const MeshSpec &mesh) {
  std::vector<int64_t> c = coordsOf(rank, mesh), off(l.size(), 0);
  for (size_t d = 0; d < l.size(); ++d) {
    int64_t pos = 0;
    for (int a : l[d])
      pos = pos * mesh.axes[a].second + c[a];
    off[d] = pos * localShape[d];
  }
  return off;
}

void copyBlock(HostTensor &global, HostTensor &block, const std::vector<int64_t> &off,
               bool toBlock) {
  size_t r = block.shape.size(), es = dtypeBytes(block.dtype);
  if (r == 0) {
    if (toBlock)
      std::memcpy(block.data.data(), global.data.data(), es);
    else
      std::memcpy(global.data.data(), block.data.data(), es);
    return;
  }
  int64_t row = block.shape[r - 1], rows = block.numElements() / std::max<int64_t>(row, 1);
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t rem = i;
    for (int d = (int)r - 2; d >= 0; --d) {
      idx[d] = rem % block.shape[d];
      rem /= block.shape[d];
    }
    int64_t g = 0;
    for (size_t d = 0; d < r; ++d)
      g = g * global.shape[d] + (d + 1 == r ? off[d] : idx[d] + off[d]);
    uint8_t *gp = global.data.data() + g * es, *bp = block.data.data() + i * row * es;
    if (toBlock)
      std::memcpy(bp, gp, row * es);
    else
      std::memcpy(gp, bp, row * es);
  }
}

int64_t copiesOf(const Layout &l, const MeshSpec &mesh) {
  int64_t n = 1;
  for (auto &[name, size] : mesh.axes)
    n *= size;
  for (const std::vector<int> &axes : l)
    for (int a : axes)
      n /= mesh.axes[a].second;
  return n;
}

namespace {
constexpr int kMaxRank = 8, kHeader = 1 + 2 * kMaxRank;
} // namespace

void sendBlock(const HostTensor &block, const std::vector<int64_t> &off, int dest, int tag) {
  int64_t header[kHeader] = {(int64_t)block.shape.size()};
  for (size_t d = 0; d < block.shape.size() && d < kMaxRank; ++d)
    header[1 + d] = block.shape[d], header[1 + kMaxRank + d] = off[d];
  MPI_Send(header, kHeader, MPI_INT64_T, dest, tag, MPI_COMM_WORLD);
  MPI_Send(block.data.data(), (int)block.numBytes(), MPI_BYTE, dest, tag, MPI_COMM_WORLD);
}

void recvBlockInto(HostTensor &global, int src, int tag) {
  int64_t header[kHeader];
  MPI_Recv(header, kHeader, MPI_INT64_T, src, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  int64_t rank = std::min<int64_t>(header[0], kMaxRank);
  std::vector<int64_t> shape(header + 1, header + 1 + rank),
      off(header + 1 + kMaxRank, header + 1 + kMaxRank + rank);
  HostTensor block(global.dtype, shape);
  MPI_Recv(block.data.data(), (int)block.numBytes(), MPI_BYTE, src, tag, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  copyBlock(global, block, off, /*toBlock=*/false);
}

} // namespace partita::blocks
