//===- Communicator.h - collectives over the devices of a mesh ---*- C++ -*-===//
//
// A Communicator connects the ranks of one SPMD program laid out on a device
// mesh (axis sizes, major to minor; rank = row-major position). Collectives
// run inside *groups*: the devices that differ only in a given list of mesh
// axes (position in the group: row-major over those axes, in the order
// given). Buffers are contiguous, row-major; the element type and the
// shape say how to interpret them. Backends: MPI (CPU buffers) and NCCL
// (device buffers; built only where CUDA and NCCL are found).
//
// Every operation returns false on failure with a one-line cause in error().
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_COMMUNICATOR_H
#define PARTITA_RUNTIME_COMMUNICATOR_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace partita::runtime {

/// Element types; the values are the C ABI's partita_dtype.
enum class DType : int32_t {
  F32 = 0, F64 = 1, F16 = 2, BF16 = 3, I1 = 4, I8 = 5, I16 = 6, I32 = 7, I64 = 8,
  U8 = 9, U16 = 10, U32 = 11, U64 = 12
};
size_t dtypeSize(DType t);
const char *dtypeName(DType t);
bool isValidDType(int32_t t);

/// The values are the C ABI's partita_reduction (= collectives::ReductionKind).
enum class ReduceOp : int32_t { Sum = 0, Max = 1, Min = 2, Prod = 3 };

class Communicator {
public:
  virtual ~Communicator();

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::vector<int64_t> &mesh() const { return mesh_; }
  /// This rank's coordinates on the mesh.
  std::vector<int64_t> coordinates() const;

  /// Registers the group over `axes` (indices into the mesh axes, distinct;
  /// empty: each device alone) and returns its id (0, 1, ... in order).
  /// Collective over all ranks: every rank registers the same groups in the
  /// same order. Returns -1 on failure.
  int addGroup(const std::vector<int> &axes);
  int numGroups() const { return (int)groups_.size(); }
  int groupSize(int group) const { return groups_[group].size; }
  int groupPosition(int group) const { return groups_[group].position; }
  bool validGroup(int group) const { return group >= 0 && group < numGroups(); }

  // Shape-level operations (shape = this rank's input block).
  /// Elementwise reduction over the group; in == out is allowed.
  bool allReduce(const void *in, void *out, const std::vector<int64_t> &shape, DType t,
                 ReduceOp op, int group);
  /// Concatenation of the group's blocks along `dim`, in group order.
  bool allGather(const void *in, void *out, const std::vector<int64_t> &shape, int dim,
                 DType t, int group);
  /// all_reduce, each device keeping its block (by group position) of `dim`.
  bool reduceScatter(const void *in, void *out, const std::vector<int64_t> &shape, int dim,
                     DType t, ReduceOp op, int group);
  /// Splits along splitDim into groupSize blocks, block j to position j,
  /// concatenates the received blocks along concatDim in group order.
  bool allToAll(const void *in, void *out, const std::vector<int64_t> &shape, int splitDim,
                int concatDim, DType t, int group);
  /// Sends to position (p + shift) mod n, receives from (p - shift) mod n.
  bool collectivePermute(const void *in, void *out, const std::vector<int64_t> &shape,
                         int64_t shift, DType t, int group);

  // The primitives (counts in elements, see CollectivesABI.h).
  virtual bool allReduceRaw(const void *in, void *out, int64_t count, DType t, ReduceOp op,
                            int group) = 0;
  virtual bool allGatherRaw(const void *in, void *out, int64_t outer, int64_t inner, DType t,
                            int group) = 0;
  virtual bool reduceScatterRaw(const void *in, void *out, int64_t outer, int64_t inner,
                                DType t, ReduceOp op, int group) = 0;
  virtual bool allToAllRaw(const void *in, void *out, int64_t splitOuter, int64_t splitInner,
                           int64_t concatOuter, int64_t concatInner, DType t, int group) = 0;
  virtual bool collectivePermuteRaw(const void *in, void *out, int64_t count, int64_t shift,
                                    DType t, int group) = 0;
  /// Point to point along the group, without wrap-around (pipelines): the
  /// device at position p sends `count` elements to position p + shift if
  /// there is one, and does nothing otherwise.
  virtual bool sendRaw(const void *in, int64_t count, int64_t shift, DType t, int group) = 0;
  /// The matching receive: from position p - shift if there is one, else
  /// `out` is filled with zeros.
  virtual bool recvRaw(void *out, int64_t count, int64_t shift, DType t, int group) = 0;
  virtual bool barrier(int group) = 0;
  /// Host buffers (MPI) or device buffers (NCCL).
  virtual bool deviceBuffers() const = 0;
  virtual const char *backendName() const = 0;

  const std::string &error() const { return error_; }

protected:
  struct Group {
    std::vector<int> axes;
    int size = 1, position = 0;
    int color = 0; ///< which group of this kind (row-major over the other axes)
  };
  /// Backend hook: create the group's communicator (g is already filled in).
  virtual bool createGroup(int id, const Group &g) = 0;
  bool fail(const std::string &message);

  int rank_ = 0, size_ = 1;
  std::vector<int64_t> mesh_;
  std::vector<Group> groups_;
  std::string error_;
};

/// MPI over the ranks of MPI_COMM_WORLD (initialized here if it is not yet;
/// finalized by the last communicator that initialized it). The world size
/// must equal the product of the mesh. Null with `error` set on failure.
std::unique_ptr<Communicator> createMPICommunicator(const std::vector<int64_t> &mesh,
                                                    std::string &error);

/// NCCL on CUDA device buffers, one GPU per rank (device = local rank modulo
/// the visible GPUs), bootstrapped over MPI. Null with `error` set where
/// this build has no NCCL or there is no GPU.
std::unique_ptr<Communicator> createNCCLCommunicator(const std::vector<int64_t> &mesh,
                                                     std::string &error);
/// Whether this build includes the NCCL backend.
bool ncclBackendBuilt();

} // namespace partita::runtime

#endif // PARTITA_RUNTIME_COMMUNICATOR_H
