//===- MPICommunicator.cpp - the MPI backend (host buffers) ----------------===//
//
// One sub-communicator per registered group (MPI_Comm_split: color = the
// group's index among the groups of its kind, key = position in the group).
// all_gather / reduce_scatter / all_to_all along an inner dimension go
// through a packed staging buffer: MPI moves contiguous blocks in rank order,
// the rearrangement to row-major blocks of `dim` happens here.
//
//===----------------------------------------------------------------------===//

#include "runtime/Communicator.h"

#include <mpi.h>

#include <climits>
#include <cstring>
#include <list>
#include <map>

namespace partita::runtime {
namespace {

float bf16ToFloat(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
float f16ToFloat(uint16_t h) {
  _Float16 v;
  std::memcpy(&v, &h, 2);
  return (float)v;
}
uint16_t floatToF16(float f) {
  _Float16 v = (_Float16)f;
  uint16_t h;
  std::memcpy(&h, &v, 2);
  return h;
}

/// User-defined reductions on 16-bit floats (MPI has no such type): combine
/// in f32, round once per step.
template <bool BF16, int Op>
void reduce16(void *in, void *inout, int *len, MPI_Datatype *) {
  auto *a = static_cast<uint16_t *>(in);
  auto *b = static_cast<uint16_t *>(inout);
  for (int i = 0; i < *len; ++i) {
    float x = BF16 ? bf16ToFloat(a[i]) : f16ToFloat(a[i]);
    float y = BF16 ? bf16ToFloat(b[i]) : f16ToFloat(b[i]);
    float r = Op == 0 ? x + y : Op == 1 ? (x > y ? x : y) : Op == 2 ? (x < y ? x : y) : x * y;
    b[i] = BF16 ? floatToBf16(r) : floatToF16(r);
  }
}

class MPICommunicator final : public Communicator {
public:
  ~MPICommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized)
      return;
    for (PendingSend &p : pendingSends)
      MPI_Wait(&p.request, MPI_STATUS_IGNORE);
    for (MPI_Comm c : comms)
      if (c != MPI_COMM_NULL)
        MPI_Comm_free(&c);
    for (auto &[k, op] : userOps)
      MPI_Op_free(&op);
    if (initializedHere)
      MPI_Finalize();
  }

  bool init(const std::vector<int64_t> &mesh) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided;
      if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return fail("MPI_Init failed");
      initializedHere = true;
    }
    // Errors come back as codes; the caller reports them in one line.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    mesh_ = mesh;
    int64_t devices = 1;
    for (int64_t s : mesh) {
      if (s <= 0)
        return fail("mesh axis sizes must be positive");
      devices *= s;
    }
    if (devices != size_)
      return fail("the mesh has " + std::to_string(devices) + " devices but MPI runs " +
                  std::to_string(size_) + " ranks");
    return true;
  }

  bool deviceBuffers() const override { return false; }
  const char *backendName() const override { return "mpi"; }
  MPI_Comm comm(int group) const { return comms[group]; }

  bool allReduceRaw(const void *in, void *out, int64_t count, DType t, ReduceOp op,
                    int group) override {
    if (!check("all_reduce", group, t, count))
      return false;
    MPI_Datatype type = MPI_BYTE;
    MPI_Op mop = MPI_SUM;
    if (!reduction(t, op, type, mop))
      return false;
    const void *send = in == out ? MPI_IN_PLACE : in;
    return ok("all_reduce", MPI_Allreduce(send, out, (int)count, type, mop, comms[group]));
  }

  bool allGatherRaw(const void *in, void *out, int64_t outer, int64_t inner, DType t,
                    int group) override {
    if (!check("all_gather", group, t, outer * inner))
      return false;
    int n = groupSize(group);
    size_t es = dtypeSize(t), block = (size_t)(outer * inner) * es;
    if (outer == 1 || n == 1)
      return ok("all_gather", MPI_Allgather(in, (int)block, MPI_BYTE, out, (int)block,
                                            MPI_BYTE, comms[group]));
    std::vector<char> staging(block * n);
    if (!ok("all_gather", MPI_Allgather(in, (int)block, MPI_BYTE, staging.data(), (int)block,
                                        MPI_BYTE, comms[group])))
      return false;
    // staging[r][o][inner] -> out[o][r][inner]
    size_t row = (size_t)inner * es;
    auto *dst = static_cast<char *>(out);
    for (int r = 0; r < n; ++r)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + (o * n + r) * row, staging.data() + r * block + o * row, row);
    return true;
  }

  bool reduceScatterRaw(const void *in, void *out, int64_t outer, int64_t inner, DType t,
                        ReduceOp op, int group) override {
    if (!check("reduce_scatter", group, t, outer * inner * groupSize(group)))
      return false;
    int n = groupSize(group);
    MPI_Datatype type = MPI_BYTE;
    MPI_Op mop = MPI_SUM;
    if (!reduction(t, op, type, mop))
      return false;
    size_t es = dtypeSize(t), row = (size_t)inner * es, block = (size_t)outer * row;
    const char *src = static_cast<const char *>(in);
    std::vector<char> staging;
    if (outer != 1 && n != 1) {
      // in[o][r][inner] -> staging[r][o][inner]
      staging.resize(block * n);
      for (int r = 0; r < n; ++r)
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(staging.data() + r * block + o * row, src + (o * n + r) * row, row);
      src = staging.data();
    }
    return ok("reduce_scatter", MPI_Reduce_scatter_block(src, out, (int)(outer * inner), type,
                                                         mop, comms[group]));
  }

  bool allToAllRaw(const void *in, void *out, int64_t splitOuter, int64_t splitInner,
                   int64_t concatOuter, int64_t concatInner, DType t, int group) override {
    int n = groupSize(group);
    if (!check("all_to_all", group, t, splitOuter * splitInner * n))
      return false;
    if (splitOuter * splitInner != concatOuter * concatInner)
      return fail("all_to_all: inconsistent block sizes");
    size_t es = dtypeSize(t), block = (size_t)(splitOuter * splitInner) * es;
    // send[j][o][inner] = in[o][j][inner]
    std::vector<char> send(block * n), recv(block * n);
    const char *src = static_cast<const char *>(in);
    size_t srow = (size_t)splitInner * es;
    for (int j = 0; j < n; ++j)
      for (int64_t o = 0; o < splitOuter; ++o)
        std::memcpy(send.data() + j * block + o * srow, src + (o * n + j) * srow, srow);
    if (!ok("all_to_all", MPI_Alltoall(send.data(), (int)block, MPI_BYTE, recv.data(),
                                       (int)block, MPI_BYTE, comms[group])))
      return false;
    // out[o][i][inner] = recv[i][o][inner]
    char *dst = static_cast<char *>(out);
    size_t crow = (size_t)concatInner * es;
    for (int i = 0; i < n; ++i)
      for (int64_t o = 0; o < concatOuter; ++o)
        std::memcpy(dst + (o * n + i) * crow, recv.data() + i * block + o * crow, crow);
    return true;
  }

  bool collectivePermuteRaw(const void *in, void *out, int64_t count, int64_t shift, DType t,
                            int group) override {
    if (!check("collective_permute", group, t, count))
      return false;
    int n = groupSize(group), p = groupPosition(group);
    int s = (int)(((shift % n) + n) % n);
    size_t bytes = (size_t)count * dtypeSize(t);
    if (s == 0) {
      if (in != out)
        std::memmove(out, in, bytes);
      return true;
    }
    int to = (p + s) % n, from = (p - s + n) % n;
    if (in == out)
      return ok("collective_permute",
                MPI_Sendrecv_replace(out, (int)bytes, MPI_BYTE, to, 0, from, 0, comms[group],
                                     MPI_STATUS_IGNORE));
    return ok("collective_permute",
              MPI_Sendrecv(in, (int)bytes, MPI_BYTE, to, 0, out, (int)bytes, MPI_BYTE, from, 0,
                           comms[group], MPI_STATUS_IGNORE));
  }

  // Point to point uses its own tag, so a send never matches a permute.
  static constexpr int kPointToPointTag = 1;

  bool sendRaw(const void *in, int64_t count, int64_t shift, DType t, int group) override {
    if (!check("send", group, t, count))
      return false;
    int64_t to = groupPosition(group) + shift;
    if (shift == 0 || to < 0 || to >= groupSize(group))
      return true;
    // Buffered: the data is copied and the send completes in the
    // background, so two ranks may send to each other before either
    // receives (a pipeline schedule's forward and backward transfers cross;
    // the schedule verifier assumes exactly this).
    reapSends();
    const char *bytes = static_cast<const char *>(in);
    pendingSends.push_back({std::vector<char>(bytes, bytes + count * dtypeSize(t)),
                            MPI_REQUEST_NULL});
    PendingSend &p = pendingSends.back();
    return ok("send", MPI_Isend(p.data.data(), (int)p.data.size(), MPI_BYTE, (int)to,
                                kPointToPointTag, comms[group], &p.request));
  }

  bool recvRaw(void *out, int64_t count, int64_t shift, DType t, int group) override {
    if (!check("recv", group, t, count))
      return false;
    int64_t from = groupPosition(group) - shift;
    size_t bytes = (size_t)count * dtypeSize(t);
    if (shift == 0 || from < 0 || from >= groupSize(group)) {
      std::memset(out, 0, bytes);
      return true;
    }
    return ok("recv", MPI_Recv(out, (int)bytes, MPI_BYTE, (int)from, kPointToPointTag,
                               comms[group], MPI_STATUS_IGNORE));
  }

  bool barrier(int group) override {
    if (group == -1)
      return ok("barrier", MPI_Barrier(MPI_COMM_WORLD));
    if (!validGroup(group))
      return fail("barrier: unknown group " + std::to_string(group));
    return ok("barrier", MPI_Barrier(comms[group]));
  }

protected:
  struct PendingSend {
    std::vector<char> data;
    MPI_Request request;
  };
  /// Sends in flight, oldest first; their buffers live until they complete.
  std::list<PendingSend> pendingSends;

  void reapSends() {
    for (auto it = pendingSends.begin(); it != pendingSends.end();) {
      int done = 0;
      MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
      it = done ? pendingSends.erase(it) : std::next(it);
    }
  }

  bool createGroup(int id, const Group &g) override {
    MPI_Comm c;
    if (!ok("MPI_Comm_split", MPI_Comm_split(MPI_COMM_WORLD, g.color, g.position, &c)))
      return false;
    MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
    comms.push_back(c);
    return true;
  }

private:
  bool ok(const char *what, int code) {
    if (code == MPI_SUCCESS)
      return true;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return fail(std::string(what) + ": " + std::string(msg, len));
  }
  bool check(const char *what, int group, DType t, int64_t count) {
    if (!validGroup(group))
      return fail(std::string(what) + ": unknown group " + std::to_string(group));
    if (!isValidDType((int32_t)t))
      return fail(std::string(what) + ": unknown element type " + std::to_string((int)t));
    if (count < 0 || count * (int64_t)dtypeSize(t) * groupSize(group) > INT_MAX)
      return fail(std::string(what) + ": " + std::to_string(count) +
                  " elements exceed what one MPI call moves (2 GiB)");
    return true;
  }
  bool reduction(DType t, ReduceOp op, MPI_Datatype &type, MPI_Op &mop) {
    static const MPI_Op ops[] = {MPI_SUM, MPI_MAX, MPI_MIN, MPI_PROD};
    if ((int)op < 0 || (int)op > 3)
      return fail("unknown reduction " + std::to_string((int)op));
    mop = ops[(int)op];
    switch (t) {
    case DType::F32: type = MPI_FLOAT; return true;
    case DType::F64: type = MPI_DOUBLE; return true;
    case DType::I8: type = MPI_INT8_T; return true;
    case DType::I16: type = MPI_INT16_T; return true;
    case DType::I32: type = MPI_INT32_T; return true;
    case DType::I64: type = MPI_INT64_T; return true;
    case DType::U8: type = MPI_UINT8_T; return true;
    case DType::U16: type = MPI_UINT16_T; return true;
    case DType::U32: type = MPI_UINT32_T; return true;
    case DType::U64: type = MPI_UINT64_T; return true;
    case DType::I1: // sum/max: or; prod/min: and
      type = MPI_C_BOOL;
      mop = (op == ReduceOp::Sum || op == ReduceOp::Max) ? MPI_LOR : MPI_LAND;
      return true;
    case DType::F16:
    case DType::BF16: {
      type = MPI_UINT16_T;
      auto key = std::make_pair((int)t, (int)op);
      auto it = userOps.find(key);
      if (it == userOps.end()) {
        using Fn = void(void *, void *, int *, MPI_Datatype *);
        static Fn *fns[2][4] = {
            {reduce16<false, 0>, reduce16<false, 1>, reduce16<false, 2>, reduce16<false, 3>},
            {reduce16<true, 0>, reduce16<true, 1>, reduce16<true, 2>, reduce16<true, 3>}};
        MPI_Op created;
        if (!ok("MPI_Op_create",
                MPI_Op_create(fns[t == DType::BF16][(int)op], /*commute=*/1, &created)))
          return false;
        it = userOps.emplace(key, created).first;
      }
      mop = it->second;
      return true;
    }
    }
    return fail("unknown element type");
  }

  std::vector<MPI_Comm> comms;
  std::map<std::pair<int, int>, MPI_Op> userOps;
  bool initializedHere = false;
};

} // namespace

std::unique_ptr<Communicator> createMPICommunicator(const std::vector<int64_t> &mesh,
                                                    std::string &error) {
  auto c = std::make_unique<MPICommunicator>();
  if (!c->init(mesh)) {
    error = c->error();
    return nullptr;
  }
  return c;
}

/// For the NCCL backend's bootstrap: the MPI communicator of a group.
MPI_Comm mpiCommOf(Communicator &c, int group) {
  return static_cast<MPICommunicator &>(c).comm(group);
}

} // namespace partita::runtime
