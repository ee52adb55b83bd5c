//===- GemmPlan.h - a contraction's loops as one BLAS GEMM call --*- C++ -*-===//
//
// A contraction C[...] += A[...] * B[...] over up to 15 loops, each operand
// given by its stride per loop (0 / absent when it does not index it), is
// one row-major GEMM per point of its outer loops when:
//   - every loop of size > 1 is batch (in A, B, C), M (A, C), N (B, C) or
//     K (A, B);
//   - the M, N and K loops collapse into one dimension each, or the ones
//     that do not join the outer loops;
//   - each operand is row-major or transposed in its two dimensions.
// planGemm decides and returns the call; the CPU runtime (OpenBLAS), the
// CUDA runtime (cuBLAS, column-major: it swaps the operands) and the CUDA
// target at compile time (which contractions go to cuBLAS) share it.
// Header-only: the CUDA runtime is a separate shared library.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_GEMMPLAN_H
#define PARTITA_RUNTIME_GEMMPLAN_H

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace partita::gemm {

constexpr int kMaxLoops = 15;

struct Operand {
  int64_t stride[kMaxLoops] = {}; // per loop, in elements
  bool present[kMaxLoops] = {};
};

/// cblas-style row-major call: C(m x n) += op(X)(m x k) * op(Y)(k x n), X
/// with (ta, lda), Y with (tb, ldb). X = A and Y = B, or with `swap` (C is
/// column-major) the call computes C^T = B^T A^T: X = B and Y = A. Repeated
/// over the `outer` loops (offsets from the operands' strides on them).
struct Plan {
  bool swap = false, ta = false, tb = false;
  int64_t m = 1, n = 1, k = 1, lda = 1, ldb = 1, ldc = 1;
  std::vector<int> outer;
};

/// One logical matrix (rows x cols, element strides) as a row-major BLAS
/// operand; false when BLAS cannot address it.
inline bool asMatrix(int64_t rows, int64_t cols, int64_t sr, int64_t sc, bool &trans,
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

/// The loops of one role collapsed into a single (size, strides) dimension:
/// starting from the innermost loop (smallest stride in `key`), outer loops
/// join while they continue the inner ones in both operands that carry the
/// role. Loops that do not fit are appended to `rest`.
struct Group {
  int64_t size = 1;
  int64_t s[3] = {0, 0, 0};
};

inline Group collapse(std::vector<int> loops, const int64_t *size, const Operand *ops[3],
                      int key, int other, std::vector<int> &rest) {
  Group g;
  if (loops.empty())
    return g;
  std::sort(loops.begin(), loops.end(),
            [&](int x, int y) { return ops[key]->stride[x] < ops[key]->stride[y]; });
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

/// The GEMM for (A, B, C) over `numLoops` loops of `size`; nullopt when
/// BLAS cannot take it (the caller runs a reference loop or a kernel).
inline std::optional<Plan> plan(int numLoops, const int64_t *size, const Operand &A,
                                const Operand &B, const Operand &C) {
  std::vector<int> batch, M, N, K;
  for (int l = 0; l < numLoops; ++l) {
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
      return std::nullopt;
  }
  const Operand *ops[3] = {&A, &B, &C};
  Plan p;
  p.outer = batch;
  Group gm = collapse(M, size, ops, /*key=*/2, /*other=*/0, p.outer);
  Group gn = collapse(N, size, ops, /*key=*/2, /*other=*/1, p.outer);
  Group gk = collapse(K, size, ops, /*key=*/0, /*other=*/1, p.outer);
  // C = A * B, or C^T = B^T * A^T when C is column-major.
  bool tc;
  bool ok = asMatrix(gm.size, gn.size, gm.s[2], gn.s[2], tc, p.ldc);
  if (ok && tc) {
    p.swap = true;
    ok = asMatrix(gn.size, gm.size, gn.s[2], gm.s[2], tc, p.ldc) && !tc &&
         asMatrix(gn.size, gk.size, gn.s[1], gk.s[1], p.ta, p.lda) &&
         asMatrix(gk.size, gm.size, gk.s[0], gm.s[0], p.tb, p.ldb);
    p.m = gn.size;
    p.n = gm.size;
  } else if (ok) {
    ok = asMatrix(gm.size, gk.size, gm.s[0], gk.s[0], p.ta, p.lda) &&
         asMatrix(gk.size, gn.size, gk.s[1], gn.s[1], p.tb, p.ldb);
    p.m = gm.size;
    p.n = gn.size;
  }
  p.k = gk.size;
  const int64_t intMax = 0x7fffffff;
  ok = ok && p.m <= intMax && p.n <= intMax && p.k <= intMax && p.lda <= intMax &&
       p.ldb <= intMax && p.ldc <= intMax;
  if (!ok)
    return std::nullopt;
  return p;
}

/// Calls f(offsetA, offsetB, offsetC), in elements, at every point of
/// `loops` (row-major order over their sizes).
template <typename F>
void forEachPoint(const std::vector<int> &loops, const int64_t *size, const Operand &A,
                  const Operand &B, const Operand &C, F f) {
  int64_t total = 1;
  for (int l : loops)
    total *= size[l];
  std::vector<int64_t> idx(loops.size(), 0);
  for (int64_t it = 0; it < total; ++it) {
    int64_t oa = 0, ob = 0, oc = 0;
    for (size_t i = 0; i < loops.size(); ++i) {
      oa += idx[i] * A.stride[loops[i]];
      ob += idx[i] * B.stride[loops[i]];
      oc += idx[i] * C.stride[loops[i]];
    }
    f(oa, ob, oc);
    for (int i = (int)loops.size() - 1; i >= 0; --i) {
      if (++idx[i] < size[loops[i]])
        break;
      idx[i] = 0;
    }
  }
}

/// The operands of a `<prefix>_f32/_f64(rankA, A, rankB, B, rankC, C,
/// numLoops, mapA, mapB, mapC)` call (Contraction.h): ranked memref
/// descriptors {allocated, aligned, offset, sizes[rank], strides[rank]} in
/// 8-byte words; nibble i of mapX is the loop indexing X's dimension i.
/// Fills `size` (1 for loops no operand indexes), each operand's strides
/// and `base` (aligned + offset, in bytes).
inline void readOperands(const int64_t ranks[3], void *const descs[3], const int64_t maps[3],
                         int64_t elemBytes, int64_t *size, Operand *ops[3], char *base[3]) {
  std::fill(size, size + kMaxLoops, 1);
  for (int o = 0; o < 3; ++o) {
    auto *words = static_cast<int64_t *>(descs[o]);
    int64_t rank = ranks[o];
    base[o] = reinterpret_cast<char *>(words[1]) + words[2] * elemBytes;
    for (int64_t i = 0; i < rank; ++i) {
      int l = (maps[o] >> (4 * i)) & 0xF;
      size[l] = words[3 + i];
      ops[o]->stride[l] = words[3 + rank + i];
      ops[o]->present[l] = true;
    }
  }
}

} // namespace partita::gemm

#endif // PARTITA_RUNTIME_GEMMPLAN_H
