//===- CommunicatorTest.cpp - each collective against a local reference ----===//
//
// Run under mpirun (-np 2: mesh [2]; -np 4: mesh [2, 2]; any other count: a
// 1-D mesh). Every rank can generate every rank's input (value(rank, i)), so
// the expected result of each collective is computed here element by
// element from its definition, independently of the backend's block
// arithmetic. Values are small integers: exact in every float type, so the
// order of a reduction does not matter.
//
// Backend: MPI, or NCCL with PARTITA_TEST_BACKEND=nccl (device buffers; the
// tests skip where the build has no NCCL or no GPU is visible).
//
//===----------------------------------------------------------------------===//

#include "runtime/Communicator.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#ifdef PARTITA_HAVE_NCCL
#include <cuda_runtime.h>
#endif

using namespace partita::runtime;

namespace {

Communicator *comm = nullptr;
std::string skipReason;

using Shape = std::vector<int64_t>;

int64_t numel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

/// Ranks of my group over `axes`, in group order.
std::vector<int> members(const std::vector<int> &axes) {
  const Shape &mesh = comm->mesh();
  auto coords = [&](int r) {
    Shape c(mesh.size());
    for (int i = (int)mesh.size() - 1; i >= 0; --i) {
      c[i] = r % mesh[i];
      r /= (int)mesh[i];
    }
    return c;
  };
  Shape me = coords(comm->rank());
  std::vector<std::pair<int64_t, int>> found;
  for (int r = 0; r < comm->size(); ++r) {
    Shape c = coords(r);
    bool same = true;
    for (size_t a = 0; a < mesh.size(); ++a)
      if (std::find(axes.begin(), axes.end(), (int)a) == axes.end() && c[a] != me[a])
        same = false;
    if (!same)
      continue;
    int64_t pos = 0;
    for (int a : axes)
      pos = pos * mesh[a] + c[a];
    found.push_back({pos, r});
  }
  std::sort(found.begin(), found.end());
  std::vector<int> out;
  for (auto &p : found)
    out.push_back(p.second);
  return out;
}

/// value of element i on rank r (small integers; never zero, so that
/// products do not collapse).
double value(int r, int64_t i, bool boolean) {
  if (boolean)
    return ((i * 7 + r * 3) % 5) == 0 ? 1 : 0;
  return (double)(((i * 7 + r * 13) % 9) - 4 == 0 ? 1 : ((i * 7 + r * 13) % 9) - 4);
}

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return (uint16_t)(u >> 16); // exact for small integers
}
float fromBf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// Typed host buffers through doubles.
std::vector<char> encode(const std::vector<double> &v, DType t) {
  std::vector<char> out(v.size() * dtypeSize(t));
  for (size_t i = 0; i < v.size(); ++i) {
    char *p = out.data() + i * dtypeSize(t);
    double x = v[i];
    switch (t) {
    case DType::F32: { float f = (float)x; std::memcpy(p, &f, 4); break; }
    case DType::F64: std::memcpy(p, &x, 8); break;
    case DType::F16: { _Float16 h = (_Float16)x; std::memcpy(p, &h, 2); break; }
    case DType::BF16: { uint16_t h = toBf16((float)x); std::memcpy(p, &h, 2); break; }
    case DType::I1: case DType::U8: { uint8_t b = (uint8_t)(int64_t)x; *p = (char)b; break; }
    case DType::I8: { int8_t b = (int8_t)x; std::memcpy(p, &b, 1); break; }
    case DType::I16: { int16_t b = (int16_t)x; std::memcpy(p, &b, 2); break; }
    case DType::I32: { int32_t b = (int32_t)x; std::memcpy(p, &b, 4); break; }
    case DType::I64: { int64_t b = (int64_t)x; std::memcpy(p, &b, 8); break; }
    case DType::U16: { uint16_t b = (uint16_t)(int64_t)x; std::memcpy(p, &b, 2); break; }
    case DType::U32: { uint32_t b = (uint32_t)(int64_t)x; std::memcpy(p, &b, 4); break; }
    case DType::U64: { uint64_t b = (uint64_t)(int64_t)x; std::memcpy(p, &b, 8); break; }
    }
  }
  return out;
}

std::vector<double> decode(const std::vector<char> &buf, DType t) {
  size_t es = dtypeSize(t), n = buf.size() / es;
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    const char *p = buf.data() + i * es;
    switch (t) {
    case DType::F32: { float f; std::memcpy(&f, p, 4); out[i] = f; break; }
    case DType::F64: std::memcpy(&out[i], p, 8); break;
    case DType::F16: { _Float16 h; std::memcpy(&h, p, 2); out[i] = (double)h; break; }
    case DType::BF16: { uint16_t h; std::memcpy(&h, p, 2); out[i] = fromBf16(h); break; }
    case DType::I1: case DType::U8: out[i] = (uint8_t)*p; break;
    case DType::I8: out[i] = (int8_t)*p; break;
    case DType::I16: { int16_t b; std::memcpy(&b, p, 2); out[i] = b; break; }
    case DType::I32: { int32_t b; std::memcpy(&b, p, 4); out[i] = b; break; }
    case DType::I64: { int64_t b; std::memcpy(&b, p, 8); out[i] = (double)b; break; }
    case DType::U16: { uint16_t b; std::memcpy(&b, p, 2); out[i] = b; break; }
    case DType::U32: { uint32_t b; std::memcpy(&b, p, 4); out[i] = b; break; }
    case DType::U64: { uint64_t b; std::memcpy(&b, p, 8); out[i] = (double)b; break; }
    }
  }
  return out;
}

std::vector<double> inputOf(int r, const Shape &s, bool boolean) {
  std::vector<double> v(numel(s));
  for (int64_t i = 0; i < (int64_t)v.size(); ++i)
    v[i] = value(r, i, boolean);
  return v;
}

/// Runs `op` on backend buffers (host for MPI, device for NCCL).
std::vector<char> run(const std::vector<char> &in, size_t outBytes,
                      const std::function<bool(const void *, void *)> &op) {
  std::vector<char> out(outBytes, 0);
  if (!comm->deviceBuffers()) {
    EXPECT_TRUE(op(in.data(), out.data())) << comm->error();
    return out;
  }
#ifdef PARTITA_HAVE_NCCL
  void *din = nullptr, *dout = nullptr;
  cudaMalloc(&din, in.size() + 1);
  cudaMalloc(&dout, outBytes + 1);
  cudaMemcpy(din, in.data(), in.size(), cudaMemcpyHostToDevice);
  EXPECT_TRUE(op(din, dout)) << comm->error();
  cudaMemcpy(out.data(), dout, outBytes, cudaMemcpyDeviceToHost);
  cudaFree(din);
  cudaFree(dout);
#endif
  return out;
}

/// Unravel / ravel row-major.
Shape unravel(int64_t i, const Shape &s) {
  Shape idx(s.size());
  for (int d = (int)s.size() - 1; d >= 0; --d) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}
int64_t ravel(const Shape &idx, const Shape &s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d)
    i = i * s[d] + idx[d];
  return i;
}

/// The groups tests run over: the whole mesh and each single axis (and,
/// on 2-D meshes, both axes in reverse order: minor-major positions).
std::vector<std::vector<int>> groupAxes() {
  int r = (int)comm->mesh().size();
  std::vector<std::vector<int>> g;
  std::vector<int> all;
  for (int a = 0; a < r; ++a)
    all.push_back(a);
  g.push_back(all);
  if (r > 1) {
    for (int a = 0; a < r; ++a)
      g.push_back({a});
    g.push_back(std::vector<int>(all.rbegin(), all.rend()));
  }
  g.push_back({}); // each device alone
  return g;
}

int groupId(const std::vector<int> &axes) {
  static std::map<std::vector<int>, int> ids;
  auto it = ids.find(axes);
  if (it != ids.end())
    return it->second;
  int id = comm->addGroup(axes);
  EXPECT_GE(id, 0) << comm->error();
  ids[axes] = id;
  return id;
}

bool nccl() { return comm->deviceBuffers(); }

class CommunicatorTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!comm)
      GTEST_SKIP() << skipReason;
  }
};

const DType allTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I1,
                          DType::I8,  DType::I16, DType::I32, DType::I64,  DType::U8,
                          DType::U16, DType::U32, DType::U64};

TEST_F(CommunicatorTest, AllReduce) {
  Shape shape = {3, 5};
  for (const auto &axes : groupAxes()) {
    int g = groupId(axes);
    std::vector<int> m = members(axes);
    EXPECT_EQ(comm->groupSize(g), (int)m.size());
    for (DType t : allTypes)
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod}) {
        bool isBool = t == DType::I1;
        bool isUnsigned = t >= DType::U8;
        if (nccl() && (t == DType::I16 || t == DType::U16))
          continue; // NCCL has no 16-bit integers
        std::vector<double> expected(numel(shape));
        for (int64_t i = 0; i < numel(shape); ++i) {
          double acc = 0;
          for (size_t k = 0; k < m.size(); ++k) {
            double v = value(m[k], i, isBool || isUnsigned);
            if (isUnsigned && !isBool)
              v = v + 1; // 1 or 2
            if (k == 0)
              acc = v;
            else if (isBool)
              acc = (op == ReduceOp::Sum || op == ReduceOp::Max) ? (acc || v) : (acc && v);
            else
              acc = op == ReduceOp::Sum   ? acc + v
                    : op == ReduceOp::Max ? std::max(acc, v)
                    : op == ReduceOp::Min ? std::min(acc, v)
                                          : acc * v;
          }
          expected[i] = acc;
        }
        std::vector<double> mine = inputOf(comm->rank(), shape, isBool || isUnsigned);
        if (isUnsigned && !isBool)
          for (double &v : mine)
            v += 1;
        auto in = encode(mine, t);
        auto out = run(in, in.size(), [&](const void *a, void *b) {
          return comm->allReduce(a, b, shape, t, op, g);
        });
        EXPECT_EQ(decode(out, t), expected)
            << "dtype " << dtypeName(t) << " op " << (int)op << " group of " << m.size();
      }
  }
}

TEST_F(CommunicatorTest, AllReduceInPlace) {
  if (nccl())
    GTEST_SKIP() << "host-only";
  int g = groupId(groupAxes()[0]);
  std::vector<int> m = members(groupAxes()[0]);
  std::vector<float> buf(7);
  for (int i = 0; i < 7; ++i)
    buf[i] = (float)value(comm->rank(), i, false);
  ASSERT_TRUE(comm->allReduce(buf.data(), buf.data(), {7}, DType::F32, ReduceOp::Sum, g))
      << comm->error();
  for (int i = 0; i < 7; ++i) {
    float want = 0;
    for (int r : m)
      want += (float)value(r, i, false);
    EXPECT_EQ(buf[i], want);
  }
}

TEST_F(CommunicatorTest, AllGather) {
  Shape shape = {2, 3, 4};
  for (const auto &axes : groupAxes())
    for (int dim = 0; dim < 3; ++dim)
      for (DType t : {DType::F32, DType::I64, DType::BF16, DType::I1}) {
        int g = groupId(axes);
        std::vector<int> m = members(axes);
        int n = (int)m.size();
        Shape outShape = shape;
        outShape[dim] *= n;
        std::vector<double> expected(numel(outShape));
        for (int64_t i = 0; i < numel(outShape); ++i) {
          Shape idx = unravel(i, outShape);
          int from = (int)(idx[dim] / shape[dim]);
          idx[dim] %= shape[dim];
          expected[i] = value(m[from], ravel(idx, shape), t == DType::I1);
        }
        auto in = encode(inputOf(comm->rank(), shape, t == DType::I1), t);
        auto out = run(in, numel(outShape) * dtypeSize(t), [&](const void *a, void *b) {
          return comm->allGather(a, b, shape, dim, t, g);
        });
        EXPECT_EQ(decode(out, t), expected) << "dim " << dim << " dtype " << dtypeName(t);
      }
}

TEST_F(CommunicatorTest, ReduceScatter) {
  for (const auto &axes : groupAxes())
    for (int dim = 0; dim < 3; ++dim)
      for (DType t : {DType::F32, DType::I32, DType::F16})
        for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max}) {
          int g = groupId(axes);
          std::vector<int> m = members(axes);
          int n = (int)m.size(), pos = comm->groupPosition(g);
          Shape shape = {2, 3, 5};
          shape[dim] *= n; // divisible
          Shape outShape = shape;
          outShape[dim] /= n;
          std::vector<double> expected(numel(outShape));
          for (int64_t i = 0; i < numel(outShape); ++i) {
            Shape idx = unravel(i, outShape);
            idx[dim] += pos * outShape[dim];
            double acc = 0;
            for (size_t k = 0; k < m.size(); ++k) {
              double v = value(m[k], ravel(idx, shape), false);
              acc = k == 0 ? v : op == ReduceOp::Sum ? acc + v : std::max(acc, v);
            }
            expected[i] = acc;
          }
          auto in = encode(inputOf(comm->rank(), shape, false), t);
          auto out = run(in, numel(outShape) * dtypeSize(t), [&](const void *a, void *b) {
            return comm->reduceScatter(a, b, shape, dim, t, op, g);
          });
          EXPECT_EQ(decode(out, t), expected) << "dim " << dim << " dtype " << dtypeName(t);
        }
}

TEST_F(CommunicatorTest, AllToAll) {
  for (const auto &axes : groupAxes())
    for (int s = 0; s < 3; ++s)
      for (int c = 0; c < 3; ++c) {
        DType t = DType::F32;
        int g = groupId(axes);
        std::vector<int> m = members(axes);
        int n = (int)m.size(), pos = comm->groupPosition(g);
        Shape shape = {2, 3, 2};
        shape[s] *= n;
        Shape chunk = shape;
        chunk[s] /= n;
        Shape outShape = chunk;
        outShape[c] *= n;
        std::vector<double> expected(numel(outShape));
        for (int64_t i = 0; i < numel(outShape); ++i) {
          Shape idx = unravel(i, outShape);
          int from = (int)(idx[c] / chunk[c]);
          idx[c] %= chunk[c];
          idx[s] += pos * chunk[s];
          expected[i] = value(m[from], ravel(idx, shape), false);
        }
        auto in = encode(inputOf(comm->rank(), shape, false), t);
        auto out = run(in, numel(outShape) * dtypeSize(t), [&](const void *a, void *b) {
          return comm->allToAll(a, b, shape, s, c, t, g);
        });
        EXPECT_EQ(decode(out, t), expected) << "split " << s << " concat " << c;
      }
}

TEST_F(CommunicatorTest, CollectivePermute) {
  Shape shape = {4, 3};
  for (const auto &axes : groupAxes())
    for (int64_t shift : {1, -1, 2, 5}) {
      DType t = DType::I32;
      int g = groupId(axes);
      std::vector<int> m = members(axes);
      int n = (int)m.size(), pos = comm->groupPosition(g);
      int from = (int)(((pos - shift) % n + n) % n);
      std::vector<double> expected = inputOf(m[from], shape, false);
      auto in = encode(inputOf(comm->rank(), shape, false), t);
      auto out = run(in, in.size(), [&](const void *a, void *b) {
        return comm->collectivePermute(a, b, shape, shift, t, g);
      });
      EXPECT_EQ(decode(out, t), expected) << "shift " << shift << " group of " << n;
    }
}

// Send then receive along each group: position p gets position p - shift's
// data, or zeros at the group's edge (no wrap-around, unlike the permute).
// Every device sends before it receives, as a pipeline stage does; the
// chain of blocking sends unwinds from the device with nothing to send.
TEST_F(CommunicatorTest, SendRecv) {
  Shape shape = {3, 5};
  for (const auto &axes : groupAxes())
    for (int64_t shift : {1, -1, 3}) {
      DType t = DType::F64;
      int g = groupId(axes);
      std::vector<int> m = members(axes);
      int64_t n = (int64_t)m.size(), from = comm->groupPosition(g) - shift;
      std::vector<double> expected(numel(shape), 0.0);
      if (from >= 0 && from < n)
        expected = inputOf(m[from], shape, false);
      auto in = encode(inputOf(comm->rank(), shape, false), t);
      auto out = run(in, in.size(), [&](const void *a, void *b) {
        return comm->sendRaw(a, numel(shape), shift, t, g) &&
               comm->recvRaw(b, numel(shape), shift, t, g);
      });
      EXPECT_EQ(decode(out, t), expected) << "shift " << shift << " group of " << n;
    }
}

TEST_F(CommunicatorTest, Barrier) {
  for (const auto &axes : groupAxes())
    EXPECT_TRUE(comm->barrier(groupId(axes))) << comm->error();
}

TEST_F(CommunicatorTest, Errors) {
  EXPECT_EQ(comm->addGroup({0, 0}), -1);
  EXPECT_NE(comm->error().find("distinct"), std::string::npos);
  float x = 0;
  EXPECT_FALSE(comm->allReduce(&x, &x, {1}, DType::F32, ReduceOp::Sum, 1000));
  EXPECT_NE(comm->error().find("unknown group"), std::string::npos) << comm->error();
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  MPI_Init(&argc, &argv);
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  Shape mesh = size == 4 ? Shape{2, 2} : Shape{size};
  const char *backend = std::getenv("PARTITA_TEST_BACKEND");
  std::string err;
  std::unique_ptr<Communicator> c;
  if (backend && std::string(backend) == "nccl") {
    if (!ncclBackendBuilt())
      skipReason = "no NCCL backend in this build";
    else if (!(c = createNCCLCommunicator(mesh, err)))
      skipReason = "NCCL: " + err;
  } else if (!(c = createMPICommunicator(mesh, err))) {
    std::fprintf(stderr, "partita: error: %s\n", err.c_str());
    return 1;
  }
  // The whole backend is missing: one marker line, which ctest's
  // SKIP_REGULAR_EXPRESSION reports as a skip (not a pass).
  if (!skipReason.empty() && rank == 0)
    std::printf("partita-comm-tests: BACKEND SKIPPED: %s\n", skipReason.c_str());
  comm = c.get();
  // Only rank 0 prints test results; every rank asserts.
  if (rank != 0) {
    auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  int anyFailed = 0;
  MPI_Allreduce(&failed, &anyFailed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  c.reset();
  MPI_Finalize();
  return anyFailed;
}
