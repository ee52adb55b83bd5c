//===- NCCLCommunicator.cpp - the NCCL backend (CUDA device buffers) -------===//
//
// Compiled only where CUDA and NCCL were found (PARTITA_HAVE_NCCL). One GPU
// per rank; every group gets an ncclComm_t whose unique id is created by the
// group's position 0 and broadcast over the group's MPI communicator. Each
// call runs on one stream and synchronizes before returning (the compiled
// CPU code that calls it is synchronous).
//
//===----------------------------------------------------------------------===//

#include "runtime/Communicator.h"
#include "runtime/CudaRuntime.h"

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

namespace partita::runtime {

MPI_Comm mpiCommOf(Communicator &c, int group);

namespace {

class NCCLCommunicator final : public Communicator {
public:
  ~NCCLCommunicator() override {
    for (ncclComm_t c : comms)
      ncclCommDestroy(c);
    if (stream && ownsStream)
      cudaStreamDestroy(stream);
  }

  bool init(const std::vector<int64_t> &mesh) {
    std::string err;
    mpi = createMPICommunicator(mesh, err);
    if (!mpi)
      return fail(err);
    rank_ = mpi->rank();
    size_ = mpi->size();
    mesh_ = mesh;
    // Code compiled for the CUDA target: its device and its stream, so
    // kernels, cuBLAS and NCCL are ordered on one stream.
    if (partita_cuda_device() >= 0) {
      stream = static_cast<cudaStream_t>(partita_cuda_stream());
      ownsStream = false;
      return cuda("cudaSetDevice", cudaSetDevice(partita_cuda_device()));
    }
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
      return fail("no CUDA device is visible (the NCCL backend needs one GPU per rank)");
    if (!cuda("cudaSetDevice", cudaSetDevice(rank_ % devices)) ||
        !cuda("cudaStreamCreate", cudaStreamCreate(&stream)))
      return false;
    return true;
  }

  bool deviceBuffers() const override { return true; }
  const char *backendName() const override { return "nccl"; }

  bool allReduceRaw(const void *in, void *out, int64_t count, DType t, ReduceOp op,
                    int group) override {
    ncclDataType_t type = ncclFloat32;
    ncclRedOp_t rop = ncclSum;
    if (!valid("all_reduce", group) || !types(t, op, type, rop))
      return false;
    return nccl("all_reduce", ncclAllReduce(in, out, count, type, rop, comms[group], stream)) &&
           sync("all_reduce");
  }

  bool allGatherRaw(const void *in, void *out, int64_t outer, int64_t inner, DType t,
                    int group) override {
    if (!valid("all_gather", group))
      return false;
    int n = groupSize(group);
    size_t es = dtypeSize(t), block = (size_t)(outer * inner) * es;
    if (outer == 1 || n == 1)
      return nccl("all_gather", ncclAllGather(in, out, block, ncclUint8, comms[group], stream)) &&
             sync("all_gather");
    void *staging;
    if (!cuda("cudaMalloc", cudaMalloc(&staging, block * n)))
      return false;
    bool good = nccl("all_gather",
                     ncclAllGather(in, staging, block, ncclUint8, comms[group], stream));
    size_t row = (size_t)inner * es;
    for (int r = 0; good && r < n; ++r) // staging[r][o][:] -> out[o][r][:]
      good = cuda("cudaMemcpy2DAsync",
                  cudaMemcpy2DAsync(static_cast<char *>(out) + r * row, n * row,
                                    static_cast<char *>(staging) + r * block, row, row, outer,
                                    cudaMemcpyDeviceToDevice, stream));
    good = good && sync("all_gather");
    cudaFree(staging);
    return good;
  }

  bool reduceScatterRaw(const void *in, void *out, int64_t outer, int64_t inner, DType t,
                        ReduceOp op, int group) override {
    ncclDataType_t type = ncclFloat32;
    ncclRedOp_t rop = ncclSum;
    if (!valid("reduce_scatter", group) || !types(t, op, type, rop))
      return false;
    int n = groupSize(group);
    size_t es = dtypeSize(t), row = (size_t)inner * es, block = (size_t)outer * row;
    if (outer == 1 || n == 1)
      return nccl("reduce_scatter", ncclReduceScatter(in, out, outer * inner, type, rop,
                                                      comms[group], stream)) &&
             sync("reduce_scatter");
    void *staging;
    if (!cuda("cudaMalloc", cudaMalloc(&staging, block * n)))
      return false;
    bool good = true;
    for (int r = 0; good && r < n; ++r) // in[o][r][:] -> staging[r][o][:]
      good = cuda("cudaMemcpy2DAsync",
                  cudaMemcpy2DAsync(static_cast<char *>(staging) + r * block, row,
                                    static_cast<const char *>(in) + r * row, n * row, row,
                                    outer, cudaMemcpyDeviceToDevice, stream));
    good = good && nccl("reduce_scatter", ncclReduceScatter(staging, out, outer * inner, type,
                                                            rop, comms[group], stream));
    good = good && sync("reduce_scatter");
    cudaFree(staging);
    return good;
  }

  bool allToAllRaw(const void *in, void *out, int64_t splitOuter, int64_t splitInner,
                   int64_t concatOuter, int64_t concatInner, DType t, int group) override {
    if (!valid("all_to_all", group))
      return false;
    int n = groupSize(group);
    size_t es = dtypeSize(t), block = (size_t)(splitOuter * splitInner) * es;
    size_t srow = (size_t)splitInner * es, crow = (size_t)concatInner * es;
    char *send, *recv;
    if (!cuda("cudaMalloc", cudaMalloc((void **)&send, block * n)))
      return false;
    if (!cuda("cudaMalloc", cudaMalloc((void **)&recv, block * n))) {
      cudaFree(send);
      return false;
    }
    bool good = true;
    for (int j = 0; good && j < n; ++j)
      good = cuda("cudaMemcpy2DAsync",
                  cudaMemcpy2DAsync(send + j * block, srow,
                                    static_cast<const char *>(in) + j * srow, n * srow, srow,
                                    splitOuter, cudaMemcpyDeviceToDevice, stream));
    good = good && nccl("all_to_all", ncclGroupStart());
    for (int j = 0; good && j < n; ++j)
      good = nccl("all_to_all", ncclSend(send + j * block, block, ncclUint8, j, comms[group],
                                         stream)) &&
             nccl("all_to_all", ncclRecv(recv + j * block, block, ncclUint8, j, comms[group],
                                         stream));
    good = nccl("all_to_all", ncclGroupEnd()) && good;
    for (int i = 0; good && i < n; ++i)
      good = cuda("cudaMemcpy2DAsync",
                  cudaMemcpy2DAsync(static_cast<char *>(out) + i * crow, n * crow,
                                    recv + i * block, crow, crow, concatOuter,
                                    cudaMemcpyDeviceToDevice, stream));
    good = good && sync("all_to_all");
    cudaFree(send);
    cudaFree(recv);
    return good;
  }

  bool collectivePermuteRaw(const void *in, void *out, int64_t count, int64_t shift, DType t,
                            int group) override {
    if (!valid("collective_permute", group))
      return false;
    int n = groupSize(group), p = groupPosition(group);
    int s = (int)(((shift % n) + n) % n);
    size_t bytes = (size_t)count * dtypeSize(t);
    if (s == 0)
      return in == out ||
             cuda("cudaMemcpy", cudaMemcpy(out, in, bytes, cudaMemcpyDeviceToDevice));
    bool good = nccl("collective_permute", ncclGroupStart()) &&
                nccl("collective_permute",
                     ncclSend(in, bytes, ncclUint8, (p + s) % n, comms[group], stream)) &&
                nccl("collective_permute",
                     ncclRecv(out, bytes, ncclUint8, (p - s + n) % n, comms[group], stream));
    good = nccl("collective_permute", ncclGroupEnd()) && good;
    return good && sync("collective_permute");
  }

  bool sendRaw(const void *in, int64_t count, int64_t shift, DType t, int group) override {
    if (!valid("send", group))
      return false;
    int64_t to = groupPosition(group) + shift;
    if (shift == 0 || to < 0 || to >= groupSize(group))
      return true;
    return nccl("send", ncclSend(in, (size_t)count * dtypeSize(t), ncclUint8, (int)to,
                                 comms[group], stream)) &&
           sync("send");
  }

  bool recvRaw(void *out, int64_t count, int64_t shift, DType t, int group) override {
    if (!valid("recv", group))
      return false;
    int64_t from = groupPosition(group) - shift;
    size_t bytes = (size_t)count * dtypeSize(t);
    if (shift == 0 || from < 0 || from >= groupSize(group))
      return cuda("cudaMemsetAsync", cudaMemsetAsync(out, 0, bytes, stream)) && sync("recv");
    return nccl("recv", ncclRecv(out, bytes, ncclUint8, (int)from, comms[group], stream)) &&
           sync("recv");
  }

  bool barrier(int group) override {
    if (!mpi->barrier(group))
      return fail(mpi->error());
    return true;
  }

protected:
  bool createGroup(int id, const Group &g) override {
    if (mpi->addGroup(g.axes) != id)
      return fail(mpi->error());
    ncclUniqueId uid;
    if (g.position == 0 && !nccl("ncclGetUniqueId", ncclGetUniqueId(&uid)))
      return false;
    if (MPI_Bcast(&uid, sizeof uid, MPI_BYTE, 0, mpiCommOf(*mpi, id)) != MPI_SUCCESS)
      return fail("MPI_Bcast of the NCCL unique id failed");
    ncclComm_t c;
    if (!nccl("ncclCommInitRank", ncclCommInitRank(&c, g.size, uid, g.position)))
      return false;
    comms.push_back(c);
    return true;
  }

private:
  bool valid(const char *what, int group) {
    return validGroup(group) || fail(std::string(what) + ": unknown group " +
                                     std::to_string(group));
  }
  bool cuda(const char *what, cudaError_t e) {
    return e == cudaSuccess || fail(std::string(what) + ": " + cudaGetErrorString(e));
  }
  bool nccl(const char *what, ncclResult_t r) {
    return r == ncclSuccess || fail(std::string(what) + ": " + ncclGetErrorString(r));
  }
  bool sync(const char *what) { return cuda(what, cudaStreamSynchronize(stream)); }
  bool types(DType t, ReduceOp op, ncclDataType_t &type, ncclRedOp_t &rop) {
    static const ncclRedOp_t ops[] = {ncclSum, ncclMax, ncclMin, ncclProd};
    rop = ops[(int)op & 3];
    switch (t) {
    case DType::F32: type = ncclFloat32; return true;
    case DType::F64: type = ncclFloat64; return true;
    case DType::F16: type = ncclFloat16; return true;
    case DType::BF16: type = ncclBfloat16; return true;
    case DType::I8: type = ncclInt8; return true;
    case DType::I32: type = ncclInt32; return true;
    case DType::I64: type = ncclInt64; return true;
    case DType::U8: type = ncclUint8; return true;
    case DType::U32: type = ncclUint32; return true;
    case DType::U64: type = ncclUint64; return true;
    case DType::I1: // or / and on 0/1 bytes
      type = ncclUint8;
      rop = (op == ReduceOp::Sum || op == ReduceOp::Max) ? ncclMax : ncclMin;
      return true;
    default:
      return fail(std::string("NCCL has no reduction on ") + dtypeName(t));
    }
  }

  std::unique_ptr<Communicator> mpi;
  std::vector<ncclComm_t> comms;
  cudaStream_t stream = nullptr;
  bool ownsStream = true;
};

} // namespace

bool ncclBackendBuilt() { return true; }

std::unique_ptr<Communicator> createNCCLCommunicator(const std::vector<int64_t> &mesh,
                                                     std::string &error) {
  auto c = std::make_unique<NCCLCommunicator>();
  if (!c->init(mesh)) {
    error = c->error();
    return nullptr;
  }
  return c;
}

} // namespace partita::runtime
