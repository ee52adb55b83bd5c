//===- ContractionRuntime.cpp - the BLAS side of contraction calls --------===//
//
// See include/partita/Runtime/Contraction.h. Descriptors are MLIR's ranked
// memref descriptors: {allocated, aligned, offset, sizes[rank], strides[rank]},
// all 8-byte words, reached through the unranked (rank, pointer) pair.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Contraction.h"

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

constexpr int kMaxLoops = 15;

struct Operand {
  char *base = nullptr; // aligned + offset, in bytes
  int64_t stride[kMaxLoops] = {}; // per loop, in elements; 0 when absent
  bool present[kMaxLoops] = {};
};

/// One logical matrix (rows x cols, element strides) as a BLAS operand in
/// row-major order. False when BLAS cannot address it.
bool asBlasMatrix(int64_t rows, int64_t cols, int64_t sr, int64_t sc, bool &trans,
                  int64_t &ld) {
  int64_t minCols = std::max<int64_t>(1, cols), minRows = std::max<int64_t>(1, rows);
  if (cols <= 1)
    sc = 1; // never stepped
  if (rows <= 1)
    sr = minCols;
  if (sc == 1 && sr >= minCols) {
    trans = false;
    ld = sr;
    return true;
  }
  if (cols <= 1)
    sc = minRows;
  if (rows <= 1)
    sr = 1;
  if (sr == 1 && sc >= minRows) {
    trans = true;
    ld = sc;
    return true;
  }
  return false;
}

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

/// The loops of one role collapsed into a single (size, strides) dimension:
/// starting from the innermost loop (smallest stride in `key`), outer loops
/// join while they continue the inner ones in both operands that carry the
/// role. Loops that do not fit are appended to `rest`.
struct Group {
  int64_t size = 1;
  int64_t s[3] = {0, 0, 0};
};

Group collapse(std::vector<int> loops, const int64_t *size, const Operand *ops[3], int key,
               int other, std::vector<int> &rest) {
  Group g;
  if (loops.empty())
    return g;
  std::sort(loops.begin(), loops.end(), [&](int x, int y) {
    return ops[key]->stride[x] < ops[key]->stride[y];
  });
  g.size = size[loops[0]];
  for (int o = 0; o < 3; ++o)
    g.s[o] = ops[o]->stride[loops[0]];
  for (size_t i = 1; i < loops.size(); ++i) {
    int l = loops[i];
    if (ops[key]->stride[l] == g.s[key] * g.size &&
        ops[other]->stride[l] == g.s[other] * g.size) {
      g.size *= size[l];
      continue;
    }
    rest.push_back(l);
  }
  return g;
}

template <typename T>
void contract(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC, void *c,
              int64_t numLoops, int64_t mapA, int64_t mapB, int64_t mapC) {
  int64_t size[kMaxLoops];
  std::fill(size, size + kMaxLoops, 1);
  Operand A, B, C;
  Operand *ops[3] = {&A, &B, &C};
  int64_t ranks[3] = {rankA, rankB, rankC};
  void *descs[3] = {a, b, c};
  int64_t maps[3] = {mapA, mapB, mapC};
  for (int o = 0; o < 3; ++o) {
    auto *words = static_cast<int64_t *>(descs[o]);
    int64_t rank = ranks[o];
    ops[o]->base = reinterpret_cast<char *>(words[1]) + words[2] * (int64_t)sizeof(T);
    for (int64_t i = 0; i < rank; ++i) {
      int l = (maps[o] >> (4 * i)) & 0xF;
      size[l] = words[3 + i];
      ops[o]->stride[l] = words[3 + rank + i];
      ops[o]->present[l] = true;
    }
  }
  int n = (int)numLoops;
  for (int l = 0; l < n; ++l)
    if (size[l] == 0)
      return; // nothing to accumulate

  // Roles; size-1 loops play none.
  std::vector<int> batch, M, N, K;
  bool useBlas = true;
  for (int l = 0; l < n; ++l) {
    if (size[l] == 1)
      continue;
    bool pa = A.present[l], pb = B.present[l], pc = C.present[l];
    if (pa && pb && pc)
      batch.push_back(l);
    else if (pa && pc && !pb)
      M.push_back(l);
    else if (pb && pc && !pa)
      N.push_back(l);
    else if (pa && pb && !pc)
      K.push_back(l);
    else
      useBlas = false;
  }
  if (!blas().sgemm)
    useBlas = false;
  if (useBlas) {
    const Operand *cops[3] = {&A, &B, &C};
    std::vector<int> outer = batch;
    Group gm = collapse(M, size, cops, /*key=*/2, /*other=*/0, outer);
    Group gn = collapse(N, size, cops, /*key=*/2, /*other=*/1, outer);
    Group gk = collapse(K, size, cops, /*key=*/0, /*other=*/1, outer);
    // C = A * B, or C^T = B^T * A^T when C is column-major.
    bool ta, tb, tc, swap = false;
    int64_t lda, ldb, ldc;
    bool ok = asBlasMatrix(gm.size, gn.size, gm.s[2], gn.s[2], tc, ldc);
    if (ok && tc) {
      swap = true;
      ok = asBlasMatrix(gn.size, gm.size, gn.s[2], gm.s[2], tc, ldc) && !tc &&
           asBlasMatrix(gn.size, gk.size, gn.s[1], gk.s[1], ta, lda) &&
           asBlasMatrix(gk.size, gm.size, gk.s[0], gm.s[0], tb, ldb);
    } else if (ok) {
      ok = asBlasMatrix(gm.size, gk.size, gm.s[0], gk.s[0], ta, lda) &&
           asBlasMatrix(gk.size, gn.size, gk.s[1], gn.s[1], tb, ldb);
    }
    const int64_t intMax = 0x7fffffff;
    ok = ok && gm.size <= intMax && gn.size <= intMax && gk.size <= intMax &&
         lda <= intMax && ldb <= intMax && ldc <= intMax;
    if (ok) {
      int64_t total = 1;
      for (int l : outer)
        total *= size[l];
      std::vector<int64_t> idx(outer.size(), 0);
      for (int64_t it = 0; it < total; ++it) {
        int64_t oa = 0, ob = 0, oc = 0;
        for (size_t i = 0; i < outer.size(); ++i) {
          oa += idx[i] * A.stride[outer[i]];
          ob += idx[i] * B.stride[outer[i]];
          oc += idx[i] * C.stride[outer[i]];
        }
        const T *pa = reinterpret_cast<const T *>(A.base) + oa;
        const T *pb = reinterpret_cast<const T *>(B.base) + ob;
        T *pc = reinterpret_cast<T *>(C.base) + oc;
        if (swap)
          gemm<T>(ta, tb, gn.size, gm.size, gk.size, pb, lda, pa, ldb, pc, ldc);
        else
          gemm<T>(ta, tb, gm.size, gn.size, gk.size, pa, lda, pb, ldb, pc, ldc);
        for (int i = (int)outer.size() - 1; i >= 0; --i) {
          if (++idx[i] < size[outer[i]])
            break;
          idx[i] = 0;
        }
      }
      return;
    }
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
