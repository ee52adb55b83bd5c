//===- RuntimeWeightsTest.cpp - outlining weights into @main's arguments --===//

#include "partita/Runtime/Compiler.h"
#include "partita/Target/CPU.h"
#include "partita/Runtime/Weights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace partita;

namespace {

struct Outlined {
  std::unique_ptr<MLIRContext> ctx;
  OwningOpRef<ModuleOp> module;
  std::vector<WeightBuffer> weights;
  func::FuncOp main() { return module->lookupSymbol<func::FuncOp>("main"); }
};

Outlined outline(const char *source, int64_t minBytes) {
  Outlined o;
  DialectRegistry registry;
  registerCpuBackendDialects(registry);
  o.ctx = std::make_unique<MLIRContext>(registry);
  o.ctx->loadAllAvailableDialects();
  o.module = parseSourceString<ModuleOp>(source, o.ctx.get());
  EXPECT_TRUE(o.module);
  if (o.module)
    outlineWeights(o.main(), minBytes, o.weights);
  return o;
}

// Two uses of one 64-byte value, a different 64-byte value, a 16-byte
// constant and a splat: with a 64-byte threshold the two distinct large
// values become arguments 1 and 2 (after the input), in program order.
const char *kModule = R"mlir(
func.func @main(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<4xf32>, tensor<16xf32>) {
  %a = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]> : tensor<16xf32>
  %b = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]> : tensor<16xf32>
  %c = arith.constant dense<[1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]> : tensor<16xf32>
  %small = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %splat = arith.constant dense<2.0> : tensor<16xf32>
  %0 = arith.addf %x, %a : tensor<16xf32>
  %1 = arith.addf %b, %c : tensor<16xf32>
  return %0, %1, %small, %splat : tensor<16xf32>, tensor<16xf32>, tensor<4xf32>, tensor<16xf32>
}
)mlir";

TEST(RuntimeWeights, LargeDistinctConstantsBecomeArguments) {
  Outlined o = outline(kModule, 64);
  func::FuncOp main = o.main();
  ASSERT_EQ(main.getNumArguments(), 3u);
  ASSERT_EQ(o.weights.size(), 2u);
  unsigned constants = 0;
  main.walk([&](arith::ConstantOp) { ++constants; });
  EXPECT_EQ(constants, 2u); // the 16-byte constant and the splat stay
  for (const WeightBuffer &w : o.weights) {
    EXPECT_EQ(w.dtype, DType::F32);
    EXPECT_EQ(w.shape, std::vector<int64_t>{16});
    EXPECT_EQ(w.numBytes, 64u);
    // A view of the attribute's storage, not a copy.
    EXPECT_FALSE(w.owner);
  }
  auto first = reinterpret_cast<const float *>(o.weights[0].data);
  auto second = reinterpret_cast<const float *>(o.weights[1].data);
  EXPECT_EQ(first[0], 0.0f);
  EXPECT_EQ(first[15], 15.0f);
  EXPECT_EQ(second[0], 1.0f);
  // %a and %b are the same attribute: both uses read argument 1.
  SmallVector<arith::AddFOp> adds;
  main.walk([&](arith::AddFOp op) { adds.push_back(op); });
  ASSERT_EQ(adds.size(), 2u);
  EXPECT_EQ(adds[0].getRhs(), main.getArgument(1));
  EXPECT_EQ(adds[1].getLhs(), main.getArgument(1));
  EXPECT_EQ(adds[1].getRhs(), main.getArgument(2));
}

TEST(RuntimeWeights, ThresholdKeepsEverythingInTheCode) {
  Outlined o = outline(kModule, 65);
  EXPECT_EQ(o.main().getNumArguments(), 1u);
  EXPECT_TRUE(o.weights.empty());
}

TEST(RuntimeWeights, BooleansAreUnpackedIntoOwnedBytes) {
  Outlined o = outline(R"mlir(
func.func @main() -> tensor<8xi1> {
  %m = arith.constant dense<[true, false, true, true, false, false, true, false]> : tensor<8xi1>
  return %m : tensor<8xi1>
}
)mlir", 1);
  ASSERT_EQ(o.weights.size(), 1u);
  const WeightBuffer &w = o.weights[0];
  EXPECT_EQ(w.dtype, DType::I1);
  ASSERT_EQ(w.numBytes, 8u); // one byte per element, as the runtime binds i1
  EXPECT_TRUE(w.owner);
  std::vector<uint8_t> bytes(w.data, w.data + 8);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{1, 0, 1, 1, 0, 0, 1, 0}));
}

} // namespace
