//===- ShardingRuleTest.cpp - every graph op has a consistent rule --------===//

#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/IR/ShardingOps.h"
#include "dialects/Sharding/IR/ShardingRule.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"
#include "partita/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace partita::sharding;

namespace {

DialectRegistry registry() {
  DialectRegistry r;
  partita::registerAllDialects(r);
  return r;
}

TEST(ShardingRules, EveryGraphOpHasARule) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  int graphOps = 0;
  for (RegisteredOperationName name : ctx.getRegisteredOperations()) {
    if (name.getDialectNamespace() != "graph")
      continue;
    ++graphOps;
    EXPECT_TRUE(name.hasInterface<ShardingRuleOpInterface>())
        << name.getStringRef().str() << " has no sharding rule";
  }
  EXPECT_GT(graphOps, 80);
}

/// Every op in the dialect's round-trip tests gets a rule whose factor
/// sizes match its operand and result shapes.
TEST(ShardingRules, RulesMatchShapesOfRoundTripOps) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  SmallString<256> dir(PARTITA_SOURCE_DIR);
  llvm::sys::path::append(dir, "test", "Dialect", "Graph");
  std::error_code ec;
  int checked = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    StringRef path = it->path();
    if (!llvm::sys::path::filename(path).starts_with("ops-"))
      continue;
    auto buf = llvm::MemoryBuffer::getFile(path);
    ASSERT_TRUE(bool(buf)) << path.str();
    // The round-trip files may hold several modules separated by `// -----`.
    SmallVector<StringRef> chunks;
    (*buf)->getBuffer().split(chunks, "// -----");
    for (StringRef chunk : chunks) {
      OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(chunk, &ctx);
      ASSERT_TRUE(module) << "cannot parse a chunk of " << path.str();
      module->walk([&](ShardingRuleOpInterface op) {
        ShardingRule rule = op.getShardingRule();
        EXPECT_EQ(rule.verify(op), "") << "in " << path.str() << ": "
                                       << op->getName().getStringRef().str();
        ++checked;
      });
    }
  }
  EXPECT_GT(checked, 80);
}

TEST(ShardingRules, ReshapeSplitsAndMergesDimensions) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  const char *src = R"mlir(
    func.func @f(%x: tensor<8x64xf32>, %y: tensor<4x6xf32>) -> (tensor<8x4x16xf32>, tensor<6x4xf32>) {
      %a = graph.reshape %x {shape = array<i64: 8, 4, 16>} : (tensor<8x64xf32>) -> tensor<8x4x16xf32>
      %b = graph.reshape %y {shape = array<i64: 6, 4>} : (tensor<4x6xf32>) -> tensor<6x4xf32>
      return %a, %b : tensor<8x4x16xf32>, tensor<6x4xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(src, &ctx);
  ASSERT_TRUE(module);
  SmallVector<ShardingRule> rules;
  module->walk([&](partita::graph::ReshapeOp op) {
    rules.push_back(cast<ShardingRuleOpInterface>(op.getOperation()).getShardingRule());
    EXPECT_EQ(rules.back().verify(op), "");
  });
  ASSERT_EQ(rules.size(), 2u);
  // [8, 64] -> [8, 4, 16]: the 64 is compound (4 major, 16 minor).
  const ShardingRule &split = rules[0];
  ASSERT_EQ(split.operands[0][1].size(), 2u);
  EXPECT_EQ(split.factors[split.operands[0][1][0]].size, 4);
  EXPECT_EQ(split.factors[split.operands[0][1][1]].size, 16);
  EXPECT_EQ(split.results[0][1][0], split.operands[0][1][0]);
  EXPECT_EQ(split.results[0][2][0], split.operands[0][1][1]);
  // [4, 6] -> [6, 4]: the common major factor 2 passes through; the rest
  // does not line up and must stay whole.
  const ShardingRule &swap = rules[1];
  int64_t major = swap.operands[0][0][0];
  EXPECT_EQ(swap.factors[major].size, 2);
  EXPECT_EQ(swap.factors[major].kind, FactorKind::PassThrough);
  EXPECT_EQ(swap.results[0][0][0], major);
  for (int64_t f : swap.operands[0][1])
    EXPECT_EQ(swap.factors[f].kind, FactorKind::NeedReplication);
}

TEST(ShardingRules, MatmulContractionIsAReduction) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  const char *src = R"mlir(
    func.func @f(%a: tensor<5x2x3xf32>, %b: tensor<3x4xf32>) -> tensor<5x2x4xf32> {
      %c = graph.matmul %a, %b : (tensor<5x2x3xf32>, tensor<3x4xf32>) -> tensor<5x2x4xf32>
      return %c : tensor<5x2x4xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(src, &ctx);
  ASSERT_TRUE(module);
  module->walk([&](partita::graph::MatMulOp op) {
    ShardingRule rule = cast<ShardingRuleOpInterface>(op.getOperation()).getShardingRule();
    EXPECT_EQ(rule.verify(op), "");
    int64_t k = rule.operands[0][2][0];
    EXPECT_EQ(rule.factors[k].kind, FactorKind::Reduction);
    EXPECT_EQ(rule.operands[1][0][0], k);
    // The batch dimension exists only in lhs and result.
    EXPECT_EQ(rule.results[0][0][0], rule.operands[0][0][0]);
  });
}

// A strided conv's input H is (output H, stride): a block of outputs and
// the input block with the same major index split together (halo exchange
// fills in the window's rows beyond it). Where output * stride != input, or
// ceil_mode adds a window, input and output H stay whole.
TEST(ShardingRules, ConvSpatialSplitsWhereHaloExchangeIsExact) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  const char *src = R"mlir(
    func.func @f(%x: tensor<1x2x16x9xf32>, %w: tensor<4x2x3x3xf32>) -> (tensor<1x4x8x4xf32>, tensor<1x2x8x5xf32>) {
      %c = graph.conv %x, %w {dilations = array<i64: 1, 1>, pads = array<i64: 1, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x16x9xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x8x4xf32>
      %p = graph.max_pool %x {kernel_shape = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>, ceil_mode = true} : (tensor<1x2x16x9xf32>) -> tensor<1x2x8x5xf32>
      return %c, %p : tensor<1x4x8x4xf32>, tensor<1x2x8x5xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(src, &ctx);
  ASSERT_TRUE(module);
  Operation *conv = nullptr, *pool = nullptr;
  module->walk([&](Operation *op) {
    if (isa<partita::graph::ConvOp>(op))
      conv = op;
    if (isa<partita::graph::MaxPoolOp>(op))
      pool = op;
  });
  ASSERT_TRUE(conv && pool);
  ShardingRule rule = cast<ShardingRuleOpInterface>(conv).getShardingRule();
  EXPECT_EQ(rule.verify(conv), "");
  // H: 16 rows (pads 1/0, stride 2) -> 8 = (8 outputs) x (stride 2).
  ASSERT_EQ(rule.operands[0][2].size(), 2u);
  int64_t h = rule.operands[0][2][0];
  EXPECT_EQ(rule.factors[h].size, 8);
  EXPECT_EQ(rule.factors[h].kind, FactorKind::PassThrough);
  EXPECT_EQ(rule.results[0][2][0], h);
  EXPECT_EQ(rule.factors[rule.operands[0][2][1]].kind, FactorKind::NeedReplication);
  EXPECT_EQ(windowSplitObstacle(conv, 2, 4), "");
  EXPECT_EQ(windowSplitObstacle(conv, 2, 16), "the output size 8 is not divisible by 16");
  // W: 9 columns -> 4 (4 * 2 != 9).
  EXPECT_EQ(rule.factors[rule.results[0][3][0]].kind, FactorKind::NeedReplication);
  EXPECT_EQ(windowSplitObstacle(conv, 3),
            "halo exchange needs output size * stride == input size (4 * 2 != 9)");
  // The pool: H exact; ceil_mode makes W 5 windows over 9 columns.
  EXPECT_EQ(windowSplitObstacle(pool, 2), "");
  EXPECT_NE(windowSplitObstacle(pool, 3), "");
  ShardingRule poolRule = cast<ShardingRuleOpInterface>(pool).getShardingRule();
  EXPECT_EQ(poolRule.verify(pool), "");
  EXPECT_EQ(poolRule.factors[poolRule.results[0][3][0]].kind, FactorKind::NeedReplication);
  std::optional<WindowDim> w = windowDim(conv, 2);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->extent(), 3);
  EXPECT_EQ(w->padBegin, 1);
}

// C[m, n] = sum_k A[m, k] B[k, n] on a mesh a=2, b=2: pass-through factors
// come from the result's layout, the reduction factor from the operands'.
TEST(ShardingRules, RealizedFactorAxesFollowResultsThenOperands) {
  MLIRContext ctx;
  Builder b(&ctx);
  StringAttr a = b.getStringAttr("a"), bb = b.getStringAttr("b");
  auto size = [](StringAttr) { return int64_t(2); };
  ShardingRule rule;
  rule.factors = {{4, FactorKind::PassThrough},
                  {8, FactorKind::PassThrough},
                  {6, FactorKind::Reduction}};
  rule.operands = {TensorMapping{{0}, {2}}, TensorMapping{{2}, {1}}};
  rule.results = {TensorMapping{{0}, {1}}};
  // Result [{a}, {}]; A [{b}, {b}] (m's b conflicts with the result's a),
  // B [{b}, {}].
  SmallVector<SmallVector<AxisList>> resultDims = {{{a}, {}}};
  SmallVector<SmallVector<AxisList>> operandDims = {{{bb}, {bb}}, {{bb}, {}}};
  SmallVector<AxisList> fa = realizeFactorAxes(rule, resultDims, operandDims, size);
  ASSERT_EQ(fa.size(), 3u);
  EXPECT_EQ(fa[0], AxisList{a});  // m: from the result, not A
  EXPECT_TRUE(fa[1].empty());     // n: the result keeps it whole
  EXPECT_EQ(fa[2], AxisList{bb}); // k: a reduction, from A
  SmallVector<AxisList> dimsA = dimsFromFactors(rule.operands[0], fa, rule, size);
  ASSERT_EQ(dimsA.size(), 2u);
  EXPECT_EQ(dimsA[0], AxisList{a});
  EXPECT_EQ(dimsA[1], AxisList{bb});

  // An axis two factors would take goes to the first one only, and a factor
  // that must stay whole takes none.
  rule.factors[1].kind = FactorKind::NeedReplication;
  resultDims = {{{a}, {bb}}};
  operandDims = {{{a}, {a}}, {{a}, {bb}}};
  fa = realizeFactorAxes(rule, resultDims, operandDims, size);
  EXPECT_EQ(fa[0], AxisList{a});
  EXPECT_TRUE(fa[1].empty());
  EXPECT_TRUE(fa[2].empty()); // k would reuse a

  // A whole k in A does not decide it: B's split rows do (a replicated
  // activation times a row-split weight), axes in B's order.
  rule.factors[1].kind = FactorKind::PassThrough;
  rule.factors[2].size = 8; // divisible by b x a
  resultDims = {{{}, {}}};
  operandDims = {{{}, {}}, {{bb, a}, {}}};
  fa = realizeFactorAxes(rule, resultDims, operandDims, size);
  EXPECT_EQ(fa[2], (AxisList{bb, a}));
}

TEST(ShardingRules, MinorFactorOfMergedDimensionNeedsWholeMajors) {
  MLIRContext ctx;
  Builder b(&ctx);
  StringAttr a = b.getStringAttr("a");
  auto size = [](StringAttr) { return int64_t(2); };
  // A reshape of 34 into 17x2: the input dimension holds factors (17, 2).
  ShardingRule rule;
  rule.factors = {{17, FactorKind::PassThrough}, {2, FactorKind::PassThrough}};
  rule.operands = {TensorMapping{{0, 1}}};
  rule.results = {TensorMapping{{0}, {1}}};
  SmallVector<SmallVector<AxisList>> resultDims = {{{}, {a}}};
  SmallVector<SmallVector<AxisList>> operandDims = {{{}}};
  SmallVector<AxisList> fa = realizeFactorAxes(rule, resultDims, operandDims, size);
  // The 17 stays whole, so the 2 cannot be split in the input: it stays
  // whole everywhere and the result is resharded afterwards.
  EXPECT_TRUE(fa[0].empty());
  EXPECT_TRUE(fa[1].empty());

  // With 16x2 the major factor takes the axis and the minor one may not.
  rule.factors[0].size = 16;
  resultDims = {{{a}, {}}};
  fa = realizeFactorAxes(rule, resultDims, operandDims, size);
  EXPECT_EQ(fa[0], AxisList{a});
  EXPECT_TRUE(fa[1].empty());
}

} // namespace
