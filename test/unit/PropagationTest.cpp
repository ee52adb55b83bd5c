//===- PropagationTest.cpp - propagation and annotations through the C++ API ===//

#include "dialects/Sharding/IR/ShardingOps.h"
#include "partita/InitAll.h"
#include "partita/Sharding/Annotations.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace partita;

namespace {

struct PropagationApi : ::testing::Test {
  PropagationApi() : ctx(registry()) {
    ctx.loadAllAvailableDialects();
    ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
      errors.push_back(d.str());
      return success();
    });
  }
  static DialectRegistry registry() {
    DialectRegistry r;
    registerAllDialects(r);
    return r;
  }
  OwningOpRef<ModuleOp> parse(StringRef src) { return parseSourceString<ModuleOp>(src, &ctx); }
  MLIRContext ctx;
  std::vector<std::string> errors;
};

// The Megatron MLP: the only communication is one all_reduce of the
// row-parallel product, and its origin names an annotated weight.
TEST_F(PropagationApi, MegatronNeedsOneAllReduce) {
  auto module = parse(R"mlir(
    sharding.mesh @mesh = <["model"=2]>
    func.func @f(%x: tensor<8x16xf32>,
        %w1: tensor<16x32xf32> {graph.name = "w1", sharding.sharding = #sharding.tensor<@mesh, [{}, {"model"}]>},
        %w2: tensor<32x16xf32> {graph.name = "w2", sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>}) -> tensor<8x16xf32> {
      %h = graph.matmul %x, %w1 : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
      %y = graph.matmul %h, %w2 : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
      %o = graph.add %y, %x : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
      return %o : tensor<8x16xf32>
    })mlir");
  ASSERT_TRUE(module);
  auto needs = sharding::propagateShardings(*module, {});
  ASSERT_TRUE(succeeded(needs));
  ASSERT_EQ(needs->size(), 1u);
  EXPECT_EQ((*needs)[0].collective, "all_reduce");
  EXPECT_EQ((*needs)[0].axes, std::vector<std::string>{"model"});
  EXPECT_TRUE((*needs)[0].origin == "w1" || (*needs)[0].origin == "w2");
}

// The same input gives the same result: propagation is deterministic.
TEST_F(PropagationApi, Deterministic) {
  const char *src = R"mlir(
    sharding.mesh @mesh = <["a"=2, "b"=2]>
    func.func @f(%x: tensor<8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a", ?}, {?}]>},
                 %y: tensor<8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"b", ?}, {?}]>}) -> tensor<8x8xf32> {
      %z = graph.add %x, %y : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
      %w = graph.matmul %z, %x : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
      return %w : tensor<8x8xf32>
    })mlir";
  std::string first;
  for (int i = 0; i < 3; ++i) {
    auto module = parse(src);
    ASSERT_TRUE(module);
    ASSERT_TRUE(succeeded(sharding::propagateShardings(*module, {})));
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    if (i == 0)
      first = text;
    else
      EXPECT_EQ(text, first);
  }
}

TEST_F(PropagationApi, MeshFlag) {
  std::string error;
  auto mesh = parseMeshFlag("data=2,model=4", error);
  ASSERT_TRUE(succeeded(mesh));
  ASSERT_EQ(mesh->axes.size(), 2u);
  EXPECT_EQ(mesh->axes[1].first, "model");
  EXPECT_EQ(mesh->axes[1].second, 4);
  EXPECT_EQ(mesh->str(), "data=2,model=4");
  EXPECT_TRUE(failed(parseMeshFlag("data=0", error)));
  EXPECT_NE(error.find("bad --mesh entry 'data=0'"), std::string::npos);
  EXPECT_TRUE(failed(parseMeshFlag("a=2,a=2", error)));
  EXPECT_NE(error.find("given twice"), std::string::npos);
}

TEST_F(PropagationApi, ShardingsFile) {
  SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("shardings", "json", path));
  auto write = [&](StringRef text) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    os << text;
  };
  write(R"({"mesh": {"model": 2, "data": 4},
            "shardings": {"x": ["data", null], "w": [null, ["model", "?"]]}})");
  std::string error;
  auto specs = readShardingsFile(path, error);
  ASSERT_TRUE(succeeded(specs)) << error;
  // Axes keep the written order (major to minor), not alphabetical.
  EXPECT_EQ(specs->mesh->axes[0].first, "model");
  ASSERT_EQ(specs->tensors.size(), 2u);
  EXPECT_EQ(specs->tensors[1].second[1].axes, std::vector<std::string>{"model"});
  EXPECT_TRUE(specs->tensors[1].second[1].open);
  write(R"({"mesh": {"data": 2}, "shardings": {"x": [3]}})");
  EXPECT_TRUE(failed(readShardingsFile(path, error)));
  EXPECT_NE(error.find("each entry must be null, an axis name, or a list of axis names"),
            std::string::npos);
  write("not json");
  EXPECT_TRUE(failed(readShardingsFile(path, error)));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos);
  llvm::sys::fs::remove(path);
}

// Annotations by name land on arguments (attribute) and inner values
// (constraint); a --mesh that disagrees with the file is an error.
TEST_F(PropagationApi, ApplyAnnotations) {
  auto module = parse(R"mlir(
    func.func @main(%x: tensor<8x4xf32> {graph.name = "x"}) -> (tensor<8x4xf32> {graph.name = "y"}) {
      %h = graph.neg %x : tensor<8x4xf32> loc("h")
      %y = graph.exp %h : tensor<8x4xf32> loc("y")
      return %y : tensor<8x4xf32>
    })mlir");
  ASSERT_TRUE(module);
  ShardingSpecs specs;
  specs.mesh = MeshSpec{{{"data", 2}}};
  specs.tensors.push_back({"x", {DimSpec{{"data"}, false}, DimSpec{{}, false}}});
  specs.tensors.push_back({"h", {DimSpec{{}, true}, DimSpec{{}, false}}});
  MeshSpec other{{{"data", 4}}};
  EXPECT_TRUE(failed(applyShardingAnnotations(*module, other, specs, "specs")));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().find("differs from the mesh"), std::string::npos);

  auto fresh = parse(R"mlir(
    func.func @main(%x: tensor<8x4xf32> {graph.name = "x"}) -> (tensor<8x4xf32> {graph.name = "y"}) {
      %h = graph.neg %x : tensor<8x4xf32> loc("h")
      return %h : tensor<8x4xf32>
    })mlir");
  ASSERT_TRUE(succeeded(applyShardingAnnotations(*fresh, std::nullopt, specs, "specs")));
  int constraints = 0;
  fresh->walk([&](sharding::ConstraintOp) { ++constraints; });
  EXPECT_EQ(constraints, 1);
  auto mainFn = *fresh->getOps<mlir::func::FuncOp>().begin();
  EXPECT_TRUE(mainFn.getArgAttr(0, sharding::kShardingAttr));
}

} // namespace
