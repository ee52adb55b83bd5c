//===- CudaBlas.cpp - contractions through cuBLAS (dlopen) -----------------===//
//
// See CudaRuntime.h. The operands' layouts are planned as for OpenBLAS
// (GemmPlan.h: row-major GEMMs over outer loops); cuBLAS is column-major, so
// row-major C = X * Y is computed as column-major C^T = Y^T * X^T, which is
// the same memory with the operands exchanged. One outer loop becomes one
// strided-batched call; more loop over strided-batched calls. The CUDA
// target only emits these calls for layouts the plan accepts at compile
// time, so a refused plan here is an error, not a fallback.
//
//===----------------------------------------------------------------------===//

#include "runtime/CudaRuntime.h"

#include "partita/Runtime/GemmPlan.h"

#include <cstdlib>
#include <dlfcn.h>
#include <string>

namespace {

using Status = int;
using Handle = void *;
constexpr int kOpN = 0, kOpT = 1;
constexpr int kR32F = 0, kR64F = 1;
constexpr int kCompute32F = 68, kCompute64F = 70, kCompute32FFastTF32 = 77;
constexpr int kGemmDefault = -1;

struct Blas {
  Status (*create)(Handle *) = nullptr;
  Status (*setStream)(Handle, void *) = nullptr;
  // (handle, opA, opB, m, n, k, alpha, A, typeA, lda, strideA, B, typeB, ldb,
  //  strideB, beta, C, typeC, ldc, strideC, batch, compute, algo)
  Status (*gemmStridedBatchedEx)(Handle, int, int, int, int, int, const void *, const void *,
                                 int, int, long long, const void *, int, int, long long,
                                 const void *, void *, int, int, long long, int, int,
                                 int) = nullptr;
  Handle handle = nullptr;
  std::string error;
};

Blas &blas() {
  static Blas b = [] {
    Blas b;
    void *lib = nullptr;
    for (const char *name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
      if (!lib)
        lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      b.error = "cuBLAS (libcublas.so.13) is not installed";
      return b;
    }
    b.create = reinterpret_cast<decltype(b.create)>(dlsym(lib, "cublasCreate_v2"));
    b.setStream = reinterpret_cast<decltype(b.setStream)>(dlsym(lib, "cublasSetStream_v2"));
    b.gemmStridedBatchedEx = reinterpret_cast<decltype(b.gemmStridedBatchedEx)>(
        dlsym(lib, "cublasGemmStridedBatchedEx"));
    if (!b.create || !b.setStream || !b.gemmStridedBatchedEx) {
      b.error = "cuBLAS lacks cublasGemmStridedBatchedEx";
      return b;
    }
    if (Status s = b.create(&b.handle)) {
      b.error = "cublasCreate failed (status " + std::to_string(s) + ")";
      return b;
    }
    b.setStream(b.handle, partita_cuda_stream());
    return b;
  }();
  return b;
}

template <typename T>
void contract(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC, void *c,
              int64_t numLoops, int64_t mapA, int64_t mapB, int64_t mapC) {
  using namespace partita;
  if (cuda::failed())
    return;
  Blas &lib = blas();
  if (!lib.error.empty()) {
    cuda::fail(lib.error.c_str());
    return;
  }
  int64_t size[gemm::kMaxLoops];
  gemm::Operand A, B, C;
  gemm::Operand *ops[3] = {&A, &B, &C};
  int64_t ranks[3] = {rankA, rankB, rankC};
  void *descs[3] = {a, b, c};
  int64_t maps[3] = {mapA, mapB, mapC};
  char *base[3];
  gemm::readOperands(ranks, descs, maps, sizeof(T), size, ops, base);
  for (int l = 0; l < numLoops; ++l)
    if (size[l] == 0)
      return;
  std::optional<gemm::Plan> plan = gemm::plan((int)numLoops, size, A, B, C);
  if (!plan) {
    cuda::fail("a contraction's layout is not one cuBLAS call per batch (the compiler "
               "checked its static layout; the descriptors disagree)");
    return;
  }
  const gemm::Plan &p = *plan;
  // X, Y: the row-major call's operands (GemmPlan.h).
  const gemm::Operand &X = p.swap ? B : A, &Y = p.swap ? A : B;
  const char *xBase = p.swap ? base[1] : base[0], *yBase = p.swap ? base[0] : base[1];
  // The innermost outer loop is the batch; the others are looped here.
  int64_t batch = 1, sx = 0, sy = 0, sc = 0;
  std::vector<int> looped = p.outer;
  if (!looped.empty()) {
    int l = looped.back();
    looped.pop_back();
    batch = size[l];
    sx = X.stride[l];
    sy = Y.stride[l];
    sc = C.stride[l];
  }
  const T one = 1;
  bool f32 = sizeof(T) == 4;
  int type = f32 ? kR32F : kR64F;
  const char *tf32 = std::getenv("PARTITA_CUDA_TF32");
  int compute = !f32 ? kCompute64F
                     : (tf32 && std::string(tf32) == "1" ? kCompute32FFastTF32 : kCompute32F);
  gemm::forEachPoint(looped, size, X, Y, C, [&](int64_t ox, int64_t oy, int64_t oc) {
    if (cuda::failed())
      return;
    // Column-major C^T (n x m) = op(Y)^T (n x k) * op(X)^T (k x m).
    Status s = lib.gemmStridedBatchedEx(
        lib.handle, p.tb ? kOpT : kOpN, p.ta ? kOpT : kOpN, (int)p.n, (int)p.m, (int)p.k, &one,
        reinterpret_cast<const T *>(yBase) + oy, type, (int)p.ldb, sy,
        reinterpret_cast<const T *>(xBase) + ox, type, (int)p.lda, sx, &one,
        reinterpret_cast<T *>(base[2]) + oc, type, (int)p.ldc, sc, (int)batch, compute,
        kGemmDefault);
    if (s != 0)
      cuda::fail(("cublasGemmStridedBatchedEx failed (status " + std::to_string(s) + ")").c_str());
  });
}

} // namespace

extern "C" {
void partita_cuda_contract_f32(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                               void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                               int64_t mapC) {
  contract<float>(rankA, a, rankB, b, rankC, c, numLoops, mapA, mapB, mapC);
}
void partita_cuda_contract_f64(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                               void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                               int64_t mapC) {
  contract<double>(rankA, a, rankB, b, rankC, c, numLoops, mapA, mapB, mapC);
}
}
