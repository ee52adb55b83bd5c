//===- ContractionRuntime.cpp - the BLAS side of contraction calls --------===//
//
// See include/partita/Runtime/Contraction.h. Descriptors are MLIR's ranked
// memref descriptors: {allocated, aligned, offset, sizes[rank], strides[rank]},
// all 8-byte words, reached through the unranked (rank, pointer) pair.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Contraction.h"
#include "partita/Runtime/GemmPlan.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <cpuid.h>
#include <cstdio>
#include <dlfcn.h>
#include <sched.h>

// OpenBLAS is opened at run time (dlopen), not linked: its CPU detection runs
// when the library loads and, in OpenBLAS 0.3.21 (Debian 12), does not know
// recent Xeons under their virtualized CPUID model name and falls back to the
// generic "Prescott" kernels -- 6x slower on this machine. Before loading it
// we name the core from the CPUID feature bits (OPENBLAS_CORETYPE), unless
// the user already did.
namespace {
enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

struct Blas {
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  SetThreadsFn setThreads = nullptr;
  GetThreadsFn getThreads = nullptr;
};

const char *hostCoreType() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return nullptr;
  bool avx2 = b & (1u << 5), avx512f = b & (1u << 16), amxTile = d & (1u << 24);
  bool avx512bf16 = false;
  unsigned a1, b1, c1, d1;
  if (a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1))
    avx512bf16 = a1 & (1u << 5);
  if (amxTile && avx512bf16)
    return "SapphireRapids";
  if (avx512bf16)
    return "Cooperlake";
  if (avx512f)
    return "SkylakeX";
  if (avx2)
    return "Haswell";
  return nullptr;
}

const Blas &blas() {
  static Blas lib = [] {
    Blas b;
    if (!std::getenv("OPENBLAS_CORETYPE"))
      if (const char *core = hostCoreType())
        setenv("OPENBLAS_CORETYPE", core, 0);
    // After a GEMM, OpenBLAS's threads spin for 2^28 cycles (~0.1 s) before
    // they sleep, which here spans the loop nests that follow: they would
    // take a core from the loop-nest pool (ParallelRuntime.cpp) while it
    // runs. 2^18 cycles (~0.1 ms) matches the pool's own spin.
    setenv("OPENBLAS_THREAD_TIMEOUT", "18", 0);
    void *h = nullptr;
    if (const char *path = std::getenv("PARTITA_BLAS_LIBRARY"))
      h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    for (const char *name : {"libopenblas.so.0", "libopenblas.so"})
      if (!h)
        h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h) {
      b.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
      b.dgemm = reinterpret_cast<DgemmFn>(dlsym(h, "cblas_dgemm"));
      b.setThreads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
      b.getThreads = reinterpret_cast<GetThreadsFn>(dlsym(h, "openblas_get_num_threads"));
    }
    if (!b.sgemm || !b.dgemm) {
      b.sgemm = nullptr;
      b.dgemm = nullptr;
      std::fprintf(stderr, "partita: warning: OpenBLAS (libopenblas.so.0) not found; "
                           "matrix products run slow reference loops\n");
    }
    return b;
  }();
  return lib;
}
} // namespace

namespace {

using partita::gemm::kMaxLoops;

struct Operand : partita::gemm::Operand {
  char *base = nullptr; // aligned + offset, in bytes
};

template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T *a, int64_t lda,
          const T *b, int64_t ldb, T *c, int64_t ldc);

template <>
void gemm<float>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc) {
  blas().sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, 1.0f, c, (int)ldc);
}
template <>
void gemm<double>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double *a,
                  int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc) {
  blas().dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, 1.0, c, (int)ldc);
}

/// C[...] += A[...] * B[...] over every loop, any strides.
template <typename T>
void reference(int numLoops, const int64_t *size, const Operand &A, const Operand &B,
               const Operand &C) {
  std::vector<int64_t> idx(numLoops, 0);
  int64_t total = 1;
  for (int l = 0; l < numLoops; ++l)
    total *= size[l];
  for (int64_t it = 0; it < total; ++it) {
    int64_t oa = 0, ob = 0, oc = 0;
    for (int l = 0; l < numLoops; ++l) {
      oa += idx[l] * A.stride[l];
      ob += idx[l] * B.stride[l];
      oc += idx[l] * C.stride[l];
    }
    reinterpret_cast<T *>(C.base)[oc] +=
        reinterpret_cast<const T *>(A.base)[oa] * reinterpret_cast<const T *>(B.base)[ob];
    for (int l = numLoops - 1; l >= 0; --l) {
      if (++idx[l] < size[l])
        break;
      idx[l] = 0;
    }
  }
}

template <typename T>
void contract(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC, void *c,
              int64_t numLoops, int64_t mapA, int64_t mapB, int64_t mapC) {
  int64_t size[kMaxLoops];
  Operand A, B, C;
  Operand *ops[3] = {&A, &B, &C};
  partita::gemm::Operand *plain[3] = {&A, &B, &C};
  int64_t ranks[3] = {rankA, rankB, rankC};
  void *descs[3] = {a, b, c};
  int64_t maps[3] = {mapA, mapB, mapC};
  char *base[3];
  partita::gemm::readOperands(ranks, descs, maps, sizeof(T), size, plain, base);
  for (int o = 0; o < 3; ++o)
    ops[o]->base = base[o];
  int n = (int)numLoops;
  for (int l = 0; l < n; ++l)
    if (size[l] == 0)
      return; // nothing to accumulate

  std::optional<partita::gemm::Plan> plan;
  if (blas().sgemm)
    plan = partita::gemm::plan(n, size, A, B, C);
  if (plan) {
    const partita::gemm::Plan &p = *plan;
    partita::gemm::forEachPoint(p.outer, size, A, B, C, [&](int64_t oa, int64_t ob, int64_t oc) {
      const T *pa = reinterpret_cast<const T *>(A.base) + oa;
      const T *pb = reinterpret_cast<const T *>(B.base) + ob;
      T *pc = reinterpret_cast<T *>(C.base) + oc;
      if (p.swap)
        gemm<T>(p.ta, p.tb, p.m, p.n, p.k, pb, p.lda, pa, p.ldb, pc, p.ldc);
      else
        gemm<T>(p.ta, p.tb, p.m, p.n, p.k, pa, p.lda, pb, p.ldb, pc, p.ldc);
    });
    return;
  }
  reference<T>(n, size, A, B, C);
}

} // namespace

extern "C" {

void partita_contract_f32(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                          void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                          int64_t mapC) {
  contract<float>(rankA, a, rankB, b, rankC, c, numLoops, mapA, mapB, mapC);
}

void partita_contract_f64(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                          void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                          int64_t mapC) {
  contract<double>(rankA, a, rankB, b, rankC, c, numLoops, mapA, mapB, mapC);
}

int partita_set_num_threads(int n) {
  const Blas &b = blas();
  if (n > 0 && b.setThreads)
    b.setThreads(n);
  return b.getThreads ? b.getThreads() : 1;
}

int partita_have_blas() { return blas().sgemm ? 1 : 0; }

int partita_configured_num_threads() {
  if (const char *env = std::getenv("PARTITA_NUM_THREADS"))
    return std::max(1, std::atoi(env));
  // The CPUs this process may run on: all of them for a single run, the
  // core mpirun bound a rank to under `run --mesh` (more threads than cores
  // only make the BLAS threads of one rank take turns).
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  return 2;
}
}
