//===- GemmPlanTest.cpp - contractions as BLAS calls (GemmPlan.h) ---------===//
//
// The plan both GEMM runtimes (OpenBLAS on the CPU, cuBLAS on the GPU) follow.
// Executed here with a plain row-major GEMM and compared with the
// contraction's definition on every layout of a batched matmul's operands,
// plus the shapes it must refuse.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/GemmPlan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

using namespace partita::gemm;

namespace {

// Loops: 0 = batch, 1 = m, 2 = n, 3 = k. A[b, m, k], B[b, k, n], C[b, m, n],
// each operand's dimensions laid out in the order `perm` (outermost first).
struct Layout {
  std::vector<int> loops; // the loops the operand's dimensions index
  std::vector<int> perm;  // memory order of those dimensions
};

/// Row-major strides of an operand's dimensions in memory order `perm`.
Operand makeOperand(const Layout &l, const int64_t *size) {
  Operand op;
  int64_t stride = 1;
  for (int i = (int)l.perm.size() - 1; i >= 0; --i) {
    int loop = l.loops[l.perm[i]];
    op.stride[loop] = stride;
    op.present[loop] = true;
    stride *= size[loop];
  }
  return op;
}

/// cblas-style row-major GEMM with beta = 1.
void rowMajorGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double *x,
                  int64_t lda, const double *y, int64_t ldb, double *c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += (ta ? x[p * lda + i] : x[i * lda + p]) * (tb ? y[j * ldb + p] : y[p * ldb + j]);
      c[i * ldc + j] += acc;
    }
}

/// Runs `plan` on (A, B, C) as the runtimes do.
void execute(const Plan &p, const int64_t *size, const Operand &A, const Operand &B,
             const Operand &C, const double *a, const double *b, double *c) {
  forEachPoint(p.outer, size, A, B, C, [&](int64_t oa, int64_t ob, int64_t oc) {
    if (p.swap)
      rowMajorGemm(p.ta, p.tb, p.m, p.n, p.k, b + ob, p.lda, a + oa, p.ldb, c + oc, p.ldc);
    else
      rowMajorGemm(p.ta, p.tb, p.m, p.n, p.k, a + oa, p.lda, b + ob, p.ldb, c + oc, p.ldc);
  });
}

double at(const double *base, const Operand &op, const int64_t *index) {
  int64_t off = 0;
  for (int l = 0; l < kMaxLoops; ++l)
    if (op.present[l])
      off += index[l] * op.stride[l];
  return base[off];
}

} // namespace

// Every memory order of A, B and C (3! each) of C[b,m,n] += A[b,m,k] * B[b,k,n]:
// each is one GEMM per batch (or refused, where no operand order fits), and
// the GEMMs compute the contraction exactly.
TEST(GemmPlan, EveryLayoutOfABatchedMatmul) {
  int64_t size[kMaxLoops];
  std::fill(size, size + kMaxLoops, 1);
  size[0] = 2, size[1] = 3, size[2] = 4, size[3] = 5;
  std::vector<int> perm = {0, 1, 2};
  std::vector<std::vector<int>> perms;
  do
    perms.push_back(perm);
  while (std::next_permutation(perm.begin(), perm.end()));
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(-1, 1);
  int planned = 0, refused = 0;
  for (auto &pa : perms)
    for (auto &pb : perms)
      for (auto &pc : perms) {
        Operand A = makeOperand({{0, 1, 3}, pa}, size);
        Operand B = makeOperand({{0, 3, 2}, pb}, size);
        Operand C = makeOperand({{0, 1, 2}, pc}, size);
        std::optional<Plan> plan = partita::gemm::plan(4, size, A, B, C);
        if (!plan) {
          ++refused;
          continue;
        }
        ++planned;
        std::vector<double> a(2 * 3 * 5), b(2 * 5 * 4), c(2 * 3 * 4, 0.5), ref = c;
        for (double &v : a)
          v = dist(rng);
        for (double &v : b)
          v = dist(rng);
        execute(*plan, size, A, B, C, a.data(), b.data(), c.data());
        int64_t idx[kMaxLoops] = {};
        for (idx[0] = 0; idx[0] < 2; ++idx[0])
          for (idx[1] = 0; idx[1] < 3; ++idx[1])
            for (idx[2] = 0; idx[2] < 4; ++idx[2]) {
              double acc = at(ref.data(), C, idx);
              for (idx[3] = 0; idx[3] < 5; ++idx[3])
                acc += at(a.data(), A, idx) * at(b.data(), B, idx);
              idx[3] = 0;
              ASSERT_NEAR(at(c.data(), C, idx), acc, 1e-12);
            }
      }
  // Per operand, 4 of its 6 orders leave each batch's matrix a unit stride
  // and a leading dimension BLAS takes: the batch outermost or in the middle;
  // the batch innermost leaves none: 4^3 planned.
  EXPECT_EQ(planned, 64);
  EXPECT_EQ(planned + refused, 216);
}

TEST(GemmPlan, RowMajorMatmulIsOneCall) {
  int64_t size[kMaxLoops];
  std::fill(size, size + kMaxLoops, 1);
  size[0] = 8, size[1] = 16, size[2] = 32; // m, n, k
  Operand A = makeOperand({{0, 2}, {0, 1}}, size);
  Operand B = makeOperand({{2, 1}, {0, 1}}, size);
  Operand C = makeOperand({{0, 1}, {0, 1}}, size);
  std::optional<Plan> p = partita::gemm::plan(3, size, A, B, C);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->swap);
  EXPECT_FALSE(p->ta);
  EXPECT_FALSE(p->tb);
  EXPECT_EQ(p->m, 8);
  EXPECT_EQ(p->n, 16);
  EXPECT_EQ(p->k, 32);
  EXPECT_EQ(p->lda, 32);
  EXPECT_EQ(p->ldb, 16);
  EXPECT_EQ(p->ldc, 16);
  EXPECT_TRUE(p->outer.empty());
}

TEST(GemmPlan, RefusesWhatIsNotAGemm) {
  int64_t size[kMaxLoops];
  std::fill(size, size + kMaxLoops, 1);
  size[0] = 4, size[1] = 4;
  // Loop 1 indexes only A: a reduction of A alone, no GEMM role.
  Operand A = makeOperand({{0, 1}, {0, 1}}, size);
  Operand B = makeOperand({{0}, {0}}, size);
  Operand C = makeOperand({{0}, {0}}, size);
  C.present[1] = false;
  B.present[1] = false;
  EXPECT_FALSE(partita::gemm::plan(2, size, A, B, C));
  // An operand with a stride BLAS cannot address (neither dimension unit).
  Operand X, Y, Z;
  size[2] = 4;
  X.present[0] = X.present[2] = true, X.stride[0] = 8, X.stride[2] = 2;
  Y.present[2] = Y.present[1] = true, Y.stride[2] = 4, Y.stride[1] = 1;
  Z.present[0] = Z.present[1] = true, Z.stride[0] = 4, Z.stride[1] = 1;
  EXPECT_FALSE(partita::gemm::plan(3, size, X, Y, Z));
}
