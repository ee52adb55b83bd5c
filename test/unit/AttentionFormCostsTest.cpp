//===- AttentionFormCostsTest.cpp - pricing the attention forms -----------===//
//
// passes/Sequence/FormCosts.cpp against hand-computed bytes (the formulas of
// docs/sequence.md) and the choices they imply; the cost model's attention
// roofline against its formula.
//
//===----------------------------------------------------------------------===//

#include "partita/InitAll.h"
#include "partita/Planner/Cluster.h"
#include "partita/Planner/CostModel.h"
#include "passes/Sequence/FormCosts.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace partita;
using namespace partita::sequence;

namespace {

DialectRegistry registry() {
  DialectRegistry r;
  registerAllDialects(r);
  return r;
}

planner::Cluster preset(const char *name) {
  std::string error;
  auto c = planner::readClusterFile(std::string(PARTITA_SOURCE_DIR) + "/cluster/" + name + ".json",
                                    error);
  EXPECT_TRUE(succeeded(c)) << error;
  return succeeded(c) ? *c : planner::Cluster();
}

/// One attention of 8 heads x 2048 tokens x 32, f32, over `parts` ranks.
AttentionShape shape(int64_t parts, bool causal) {
  AttentionShape s;
  s.batch = 8;
  s.sq = s.sk = 2048;
  s.d = s.dv = 32;
  s.parts = parts;
  s.causal = causal;
  return s;
}

const FormEstimate &find(const std::vector<FormEstimate> &all, AttentionForm form) {
  for (const FormEstimate &e : all)
    if (e.form == form)
      return e;
  ADD_FAILURE() << "no estimate for " << formName(form).str();
  return all.front();
}

struct Priced {
  MLIRContext ctx{registry()};
  OwningOpRef<ModuleOp> module;
  sharding::MeshAttr mesh;
  SmallVector<StringAttr> axes;
  explicit Priced(int64_t parts) {
    module = parseSourceString<ModuleOp>(
        "sharding.mesh @mesh = <[\"s\"=" + std::to_string(parts) + "]>", &ctx);
    EXPECT_TRUE(module);
    for (auto m : module->getOps<sharding::MeshOp>())
      mesh = m.getMesh();
    axes.push_back(StringAttr::get(&ctx, "s"));
  }
  /// Every form that applies (zigzag: causal only).
  AttentionPricing price(const AttentionShape &s, const planner::Cluster &cluster) {
    std::string error;
    SmallVector<AttentionForm> forms = {AttentionForm::Ulysses, AttentionForm::Ring,
                                        AttentionForm::Gather};
    if (s.causal)
      forms.push_back(AttentionForm::Zigzag);
    auto p = priceForms(forms, s, cluster, mesh, axes, error);
    EXPECT_TRUE(succeeded(p)) << error;
    return succeeded(p) ? *p : AttentionPricing();
  }
};

// Per rank, with block = 8 * 2048/P * 32 elements of 4 bytes (one of q, K,
// V or the output): gather all-gathers K and V (each result P blocks),
// Ulysses all_to_alls 4 blocks, the ring permutes K and V P-1 times, the
// zigzag ring as well plus its re-layout's half blocks (P=2: 4; P=4: 16).
TEST(AttentionFormCosts, BytesAndCollectivesFollowTheFormulas) {
  planner::Cluster h100 = preset("h100x8");
  for (int64_t P : {2, 4}) {
    Priced priced(P);
    AttentionPricing p = priced.price(shape(P, /*causal=*/true), h100);
    ASSERT_EQ(p.estimates.size(), 4u);
    double block = 8.0 * 2048 / P * 32 * 4;
    const FormEstimate &gather = find(p.estimates, AttentionForm::Gather);
    EXPECT_EQ(gather.collectives, 2);
    EXPECT_DOUBLE_EQ(gather.bytes, 2 * P * block);
    const FormEstimate &ulysses = find(p.estimates, AttentionForm::Ulysses);
    EXPECT_EQ(ulysses.collectives, 4);
    EXPECT_DOUBLE_EQ(ulysses.bytes, 4 * block);
    const FormEstimate &ring = find(p.estimates, AttentionForm::Ring);
    EXPECT_EQ(ring.collectives, 2 * (P - 1));
    EXPECT_DOUBLE_EQ(ring.bytes, 2 * (P - 1) * block);
    const FormEstimate &zigzag = find(p.estimates, AttentionForm::Zigzag);
    int64_t halves = P == 2 ? 4 : 16;
    EXPECT_EQ(zigzag.collectives, 2 * (P - 1) + halves);
    EXPECT_DOUBLE_EQ(zigzag.bytes, 2 * (P - 1) * block + halves * block / 2);
  }
}

// Causal: the zigzag ring computes 4c^2 + 2(P-1)c^2 scores per rank where
// the plain ring computes 4Pc^2 (P=2: 8 of 8 vs 5 of 8 half-chunk blocks).
TEST(AttentionFormCosts, ZigzagComputesLessThanTheRing) {
  planner::Cluster local = preset("cpu-local");
  Priced priced(2);
  AttentionPricing p = priced.price(shape(2, /*causal=*/true), local);
  const FormEstimate &ring = find(p.estimates, AttentionForm::Ring);
  const FormEstimate &zigzag = find(p.estimates, AttentionForm::Zigzag);
  EXPECT_LT(zigzag.compute, 0.7 * ring.compute);
  EXPECT_GT(zigzag.compute, 0.55 * ring.compute);
  EXPECT_EQ(p.estimates.front().form, AttentionForm::Zigzag) << p.why;
}

// Non-causal, 2048 tokens on cpu-local: Ulysses is fastest; at 50 MB per
// device neither its scores [4, 2048, 2048] nor gather's [8, 1024, 2048]
// (64 MiB each) fit, the ring's one block [8, 1024, 1024] does.
TEST(AttentionFormCosts, MemoryLimitForcesTheRing) {
  planner::Cluster local = preset("cpu-local");
  Priced priced(2);
  AttentionPricing roomy = priced.price(shape(2, /*causal=*/false), local);
  ASSERT_EQ(roomy.estimates.size(), 3u);
  EXPECT_EQ(roomy.estimates.front().form, AttentionForm::Ulysses) << roomy.why;
  for (size_t i = 1; i < roomy.estimates.size(); ++i)
    EXPECT_LE(roomy.estimates[i - 1].time(), roomy.estimates[i].time());
  local.device.memoryBytes = 50e6;
  AttentionPricing small = priced.price(shape(2, /*causal=*/false), local);
  EXPECT_EQ(small.estimates.front().form, AttentionForm::Ring) << small.why;
  EXPECT_GT(find(small.estimates, AttentionForm::Gather).memory, 50e6);
  EXPECT_NE(small.why.find("needs"), std::string::npos) << small.why;
  // Nothing fits: the smallest.
  local.device.memoryBytes = 1e6;
  AttentionPricing tiny = priced.price(shape(2, /*causal=*/true), local);
  for (const FormEstimate &e : tiny.estimates)
    EXPECT_LE(tiny.estimates.front().memory, e.memory);
}

// graph.attention's roofline: GEMMs at the peak, 7 + 2 (causal) passes
// over the [8, 1024, 2048] scores plus q, K, V and the output at the
// memory bandwidth (cpu-local: 15 GF/s, 10 GB/s).
TEST(AttentionFormCosts, AttentionOpRoofline) {
  MLIRContext ctx(registry());
  const char *text = R"(
func.func @main(%q: tensor<1x8x1024x32xf32>, %k: tensor<1x8x2048x32xf32>, %v: tensor<1x8x2048x32xf32>) -> tensor<1x8x1024x32xf32> {
  %a = graph.attention %q, %k, %v {scale = 1.0e+00 : f64, causal = true} : (tensor<1x8x1024x32xf32>, tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>) -> tensor<1x8x1024x32xf32>
  return %a : tensor<1x8x1024x32xf32>
})";
  OwningOpRef<ModuleOp> m = parseSourceString<ModuleOp>(text, &ctx);
  ASSERT_TRUE(m);
  std::string error;
  auto report = planner::estimateCost(*m, preset("cpu-local"), error);
  ASSERT_TRUE(succeeded(report)) << error;
  double scores = 8.0 * 1024 * 2048;
  double gemm = 2 * scores * 64 / 15e9;
  double bytes = (9 * scores + 8.0 * (1024 * 32 * 2 + 2048 * 64)) * 4;
  ASSERT_EQ(report->ops.size(), 1u);
  EXPECT_NEAR(report->ops[0].computeTime, gemm + bytes / 10e9, 1e-9);
  EXPECT_DOUBLE_EQ(report->ops[0].flops, 2 * scores * 64 + 5 * scores);
}

} // namespace
