//===- GraphInferenceTest.cpp - shape rules of the graph dialect ----------===//

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "partita/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace partita::graph;

namespace {

class GraphInferenceTest : public ::testing::Test {
protected:
  GraphInferenceTest() : ctx(makeRegistry()), b(&ctx) {
    ctx.loadAllAvailableDialects();
    module = ModuleOp::create(b.getUnknownLoc());
    b.setInsertionPointToEnd(module->getBody());
    // Diagnostics are expected in failure cases; keep them out of the log.
    ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
      lastError = d.str();
      return success();
    });
  }
  static DialectRegistry makeRegistry() {
    DialectRegistry r;
    partita::registerAllDialects(r);
    return r;
  }
  /// A block argument of the given type to feed ops with.
  Value arg(ArrayRef<int64_t> shape, Type elt = nullptr) {
    if (!elt)
      elt = b.getF32Type();
    if (!block) {
      block = new Block();
      module->getBody()->getOperations().size();
    }
    return block->addArgument(RankedTensorType::get(shape, elt), b.getUnknownLoc());
  }
  ArrayRef<int64_t> shapeOf(Operation *op, unsigned i = 0) {
    return cast<RankedTensorType>(op->getResult(i).getType()).getShape();
  }
  ~GraphInferenceTest() override {
    if (block) {
      // Ops created at the module level use block arguments; drop them first.
      module->getBody()->clear();
      delete block;
    }
  }

  MLIRContext ctx;
  OpBuilder b;
  OwningOpRef<ModuleOp> module;
  Block *block = nullptr;
  std::string lastError;
};

TEST_F(GraphInferenceTest, BroadcastShapes) {
  auto s = broadcastShapes({2, 1, 4}, {3, 1});
  ASSERT_TRUE(succeeded(s));
  EXPECT_EQ(*s, (SmallVector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(failed(broadcastShapes({2, 3}, {4, 3})));
  EXPECT_EQ(*broadcastShapes({}, {5}), (SmallVector<int64_t>{5}));
}

TEST_F(GraphInferenceTest, NormalizeAxis) {
  EXPECT_EQ(*normalizeAxis(-1, 3), 2);
  EXPECT_EQ(*normalizeAxis(0, 3), 0);
  EXPECT_TRUE(failed(normalizeAxis(3, 3)));
  EXPECT_TRUE(failed(normalizeAxis(-4, 3)));
}

TEST_F(GraphInferenceTest, BinaryBroadcastAndCompare) {
  Operation *add = createInferred<AddOp>(b, b.getUnknownLoc(), {arg({4, 1, 3}), arg({5, 1})});
  ASSERT_TRUE(add);
  EXPECT_EQ(shapeOf(add), (ArrayRef<int64_t>{4, 5, 3}));
  Operation *lt = createInferred<LessOp>(b, b.getUnknownLoc(), {arg({2}), arg({2})});
  ASSERT_TRUE(lt);
  EXPECT_TRUE(cast<RankedTensorType>(lt->getResult(0).getType()).getElementType().isInteger(1));
  EXPECT_FALSE(createInferred<AddOp>(b, b.getUnknownLoc(), {arg({2, 3}), arg({4})}));
  EXPECT_NE(lastError.find("not broadcast-compatible"), std::string::npos);
}

TEST_F(GraphInferenceTest, MatMulNumpySemantics) {
  auto loc = b.getUnknownLoc();
  EXPECT_EQ(shapeOf(createInferred<MatMulOp>(b, loc, {arg({7, 1, 2, 3}), arg({5, 3, 4})})),
            (ArrayRef<int64_t>{7, 5, 2, 4}));
  EXPECT_EQ(shapeOf(createInferred<MatMulOp>(b, loc, {arg({3}), arg({3, 4})})),
            (ArrayRef<int64_t>{4}));
  EXPECT_EQ(shapeOf(createInferred<MatMulOp>(b, loc, {arg({2, 3}), arg({3})})),
            (ArrayRef<int64_t>{2}));
  EXPECT_FALSE(createInferred<MatMulOp>(b, loc, {arg({2, 3}), arg({4, 5})}));
  EXPECT_NE(lastError.find("contraction dimensions differ"), std::string::npos);
}

TEST_F(GraphInferenceTest, Einsum) {
  auto loc = b.getUnknownLoc();
  auto eq = [&](StringRef e) { return b.getNamedAttr("equation", b.getStringAttr(e)); };
  EXPECT_EQ(shapeOf(createInferred<EinsumOp>(b, loc, {arg({2, 3}), arg({3, 4})}, {eq("ij,jk->ik")})),
            (ArrayRef<int64_t>{2, 4}));
  // Implicit output: labels used once, alphabetically.
  EXPECT_EQ(shapeOf(createInferred<EinsumOp>(b, loc, {arg({2, 3}), arg({3, 4})}, {eq("ij,jk")})),
            (ArrayRef<int64_t>{2, 4}));
  EXPECT_EQ(shapeOf(createInferred<EinsumOp>(b, loc, {arg({5, 2, 3}), arg({5, 3, 4})},
                                             {eq("...ij,...jk->...ik")})),
            (ArrayRef<int64_t>{5, 2, 4}));
  EXPECT_EQ(shapeOf(createInferred<EinsumOp>(b, loc, {arg({3, 3})}, {eq("ii->i")})),
            (ArrayRef<int64_t>{3}));
  EXPECT_FALSE(createInferred<EinsumOp>(b, loc, {arg({2, 3}), arg({4, 4})}, {eq("ij,jk->ik")}));
}

TEST_F(GraphInferenceTest, ConvAndPool) {
  auto loc = b.getUnknownLoc();
  auto ints = [&](StringRef n, ArrayRef<int64_t> v) {
    return b.getNamedAttr(n, b.getDenseI64ArrayAttr(v));
  };
  Operation *conv = createInferred<ConvOp>(
      b, loc, {arg({1, 4, 9, 9}), arg({8, 2, 3, 3})},
      {ints("strides", {2, 2}), ints("pads", {1, 1, 1, 1}), ints("dilations", {1, 1}),
       b.getNamedAttr("group", b.getI64IntegerAttr(2))});
  ASSERT_TRUE(conv);
  EXPECT_EQ(shapeOf(conv), (ArrayRef<int64_t>{1, 8, 5, 5}));
  // ceil_mode keeps the partial window that starts inside the input.
  Operation *pool = createInferred<MaxPoolOp>(
      b, loc, {arg({1, 1, 4, 4})},
      {ints("kernel_shape", {3, 3}), ints("strides", {2, 2}), ints("pads", {0, 0, 0, 0}),
       ints("dilations", {1, 1}), b.getNamedAttr("ceil_mode", b.getBoolAttr(true))});
  ASSERT_TRUE(pool);
  EXPECT_EQ(shapeOf(pool), (ArrayRef<int64_t>{1, 1, 2, 2}));
}

TEST_F(GraphInferenceTest, SliceNormalizedForm) {
  auto loc = b.getUnknownLoc();
  auto ints = [&](StringRef n, ArrayRef<int64_t> v) {
    return b.getNamedAttr(n, b.getDenseI64ArrayAttr(v));
  };
  // Reverse the first dimension entirely, take every other column.
  Operation *s = createInferred<SliceOp>(
      b, loc, {arg({5, 6})}, {ints("starts", {4, 0}), ints("ends", {-1, 6}), ints("steps", {-1, 2})});
  ASSERT_TRUE(s);
  EXPECT_EQ(shapeOf(s), (ArrayRef<int64_t>{5, 3}));
  EXPECT_FALSE(createInferred<SliceOp>(
      b, loc, {arg({5})}, {ints("starts", {7}), ints("ends", {9}), ints("steps", {1})}));
}

TEST_F(GraphInferenceTest, MissingAttributeIsADiagnostic) {
  EXPECT_FALSE(createInferred<TransposeOp>(b, b.getUnknownLoc(), {arg({2, 3})}));
  EXPECT_NE(lastError.find("missing integer array attribute 'perm'"), std::string::npos);
}

TEST_F(GraphInferenceTest, UnknownOpIsADiagnostic) {
  EXPECT_FALSE(createInferred(b, b.getUnknownLoc(), "graph.nonexistent", {}));
  EXPECT_NE(lastError.find("unknown operation"), std::string::npos);
}

TEST_F(GraphInferenceTest, MoeShapes) {
  auto loc = b.getUnknownLoc();
  Operation *gate = createInferred<MoeGateOp>(b, loc, {arg({6, 4})},
                                              {b.getNamedAttr("k", b.getI64IntegerAttr(2))});
  ASSERT_TRUE(gate);
  EXPECT_EQ(shapeOf(gate, 1), (ArrayRef<int64_t>{6, 2}));
  Operation *dispatch = createInferred<MoeDispatchOp>(
      b, loc, {arg({6, 8}), gate->getResult(1)},
      {b.getNamedAttr("num_experts", b.getI64IntegerAttr(4)),
       b.getNamedAttr("capacity", b.getI64IntegerAttr(3))});
  ASSERT_TRUE(dispatch);
  EXPECT_EQ(shapeOf(dispatch), (ArrayRef<int64_t>{4, 3, 8}));
}

} // namespace
