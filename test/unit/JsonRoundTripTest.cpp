//===- JsonRoundTripTest.cpp - JSON graph IR import and export ------------===//

#include "partita/Import/Importer.h"
#include "partita/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

class JsonRoundTripTest : public ::testing::Test {
protected:
  JsonRoundTripTest() : ctx(makeRegistry()) {
    ctx.loadAllAvailableDialects();
    ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
      errors += d.str() + "\n";
      return success();
    });
  }
  static DialectRegistry makeRegistry() {
    DialectRegistry r;
    partita::registerAllDialects(r);
    return r;
  }
  OwningOpRef<ModuleOp> import(StringRef text) {
    return partita::importJsonText(ctx, text, "test.json");
  }
  static std::string print(ModuleOp m) {
    std::string s;
    llvm::raw_string_ostream os(s);
    m.print(os); // locations are not printed by default
    return s;
  }
  std::string exportText(ModuleOp m) {
    std::string s;
    llvm::raw_string_ostream os(s);
    EXPECT_TRUE(succeeded(partita::exportJson(m, os))) << errors;
    return s;
  }

  MLIRContext ctx;
  std::string errors;
};

constexpr const char *kMlp = R"({
  "format": "partita.graph", "version": 1, "name": "mlp",
  "mesh": {"dp": 2, "tp": 4},
  "inputs": [{"name": "x", "dtype": "f32", "shape": [8, 16], "sharding": ["dp", null]}],
  "parameters": [
    {"name": "w", "dtype": "f32", "shape": [16, 4], "fill": 0.125},
    {"name": "b", "dtype": "f16", "shape": [4], "data": [1, -2.5, "nan", 65504]},
    {"name": "k", "dtype": "u64", "shape": [], "data": 18446744073709551615}
  ],
  "nodes": [
    {"op": "MatMul", "inputs": ["x", "w"], "outputs": ["h"]},
    {"op": "Cast", "inputs": ["b"], "outputs": ["b32"], "attrs": {"to": 1}},
    {"op": "Add", "inputs": ["h", "b32"], "outputs": ["y"]},
    {"op": "TopK", "inputs": ["y"], "outputs": ["v", "i"], "attrs": {"k": 2}}
  ],
  "outputs": [{"name": "v", "sharding": [["dp", "tp"], null]}, "i", "k"]
})";

TEST_F(JsonRoundTripTest, ImportExportImportIsIdentity) {
  auto first = import(kMlp);
  ASSERT_TRUE(first) << errors;
  std::string json = exportText(*first);
  auto second = import(json);
  ASSERT_TRUE(second) << errors << json;
  EXPECT_EQ(print(*first), print(*second));
  // And the JSON is a fixed point.
  EXPECT_EQ(json, exportText(*second));
}

TEST_F(JsonRoundTripTest, ShardingsAndMeshBecomeAttributes) {
  auto m = import(kMlp);
  ASSERT_TRUE(m) << errors;
  auto mesh = (*m)->getAttrOfType<ArrayAttr>("graph.mesh");
  ASSERT_TRUE(mesh);
  ASSERT_EQ(mesh.size(), 2u);
  // In the order written ("dp" then "tp"), not by name.
  auto axis = [&](unsigned i) { return cast<ArrayAttr>(mesh[i]); };
  EXPECT_EQ(cast<StringAttr>(axis(1)[0]).getValue(), "tp");
  EXPECT_EQ(cast<IntegerAttr>(axis(1)[1]).getInt(), 4);
  auto func = m->lookupSymbol<func::FuncOp>("main");
  auto arg = func.getArgAttrOfType<ArrayAttr>(0, "graph.sharding");
  ASSERT_TRUE(arg);
  ASSERT_EQ(arg.size(), 2u);
  EXPECT_EQ(cast<StringAttr>(cast<ArrayAttr>(arg[0])[0]).getValue(), "dp");
  EXPECT_TRUE(cast<ArrayAttr>(arg[1]).empty());
  auto res = func.getResultAttrOfType<ArrayAttr>(0, "graph.sharding");
  ASSERT_TRUE(res);
  EXPECT_EQ(cast<ArrayAttr>(res[0]).size(), 2u);
}

TEST_F(JsonRoundTripTest, MalformedInputIsADiagnosticNotACrash) {
  for (const char *bad :
       {"", "[", "{\"format\": \"partita.graph\"}", "42",
        R"({"format": "partita.graph", "version": 1, "inputs": {}})",
        R"({"format": "partita.graph", "version": 1, "inputs": [{"name": 3}]})",
        R"({"format": "partita.graph", "version": 1, "inputs": [{"name": "x", "dtype": "f32", "shape": [1.5]}], "outputs": ["x"]})",
        R"({"format": "partita.graph", "version": 1, "parameters": [{"name": "w", "dtype": "f32", "shape": [1], "data": [null]}], "outputs": ["w"]})",
        R"({"format": "partita.graph", "version": 1, "nodes": [{"op": 1}], "outputs": ["w"]})",
        R"({"format": "partita.graph", "version": 1, "nodes": [{"op": "Relu", "inputs": [1], "outputs": []}], "outputs": ["w"]})",
        R"({"format": "partita.graph", "version": 1, "outputs": [["x"]]})",
        R"({"format": "partita.graph", "version": "1"})"}) {
    errors.clear();
    EXPECT_FALSE(import(bad)) << bad;
    EXPECT_FALSE(errors.empty()) << bad;
    EXPECT_EQ(errors.find('\n'), errors.size() - 1) << "one line: " << errors;
  }
}

TEST_F(JsonRoundTripTest, NamesSurviveWithoutLocations) {
  // An output that is an input keeps its own name through an Identity.
  auto m = import(R"({"format": "partita.graph", "version": 1,
    "inputs": [{"name": "x", "dtype": "i64", "shape": [2]}],
    "nodes": [{"op": "Identity", "inputs": ["x"], "outputs": ["y"]}],
    "outputs": ["y"]})");
  ASSERT_TRUE(m) << errors;
  std::string json = exportText(*m);
  EXPECT_NE(json.find(R"({"op":"Identity","inputs":["x"],"outputs":["y"]})"),
            std::string::npos)
      << json;
  auto again = import(json);
  ASSERT_TRUE(again) << errors;
  EXPECT_EQ(print(*m), print(*again));
}

} // namespace
