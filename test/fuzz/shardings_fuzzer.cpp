//===- shardings_fuzzer.cpp - libFuzzer target for --shardings files ------===//
//
// Feeds arbitrary bytes to the --shardings reader (parseShardings) and, when
// they parse, applies the annotations to a fixed two-layer MLP on a mesh of
// its own and partitions it (propagation, then the SPMD partitioner), as
// `partita run --mesh data=2,model=2 --shardings F` does before any rank
// starts. Rejections are expected (diagnostics are swallowed); any crash,
// abort or sanitizer report is a bug. Built only with
// -DPARTITA_ENABLE_FUZZERS=ON and clang; run by bench/fuzz.sh.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"
#include "partita/Import/Importer.h"
#include "partita/Sharding/Annotations.h"
#include "partita/Sharding/Spmd.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

// x[4,8] -> MatMul w1[8,16] -> Add b1 -> Relu -> MatMul w2[16,6] -> y[4,6],
// with a named intermediate (h) that annotations may name too.
constexpr const char *kModel = R"({
  "format": "partita.graph", "version": 1, "name": "mlp", "opset": 17,
  "inputs": [{"name": "x", "dtype": "f32", "shape": [4, 8]}],
  "parameters": [
    {"name": "w1", "dtype": "f32", "shape": [8, 16], "fill": 0.5},
    {"name": "b1", "dtype": "f32", "shape": [16], "fill": 0.0},
    {"name": "w2", "dtype": "f32", "shape": [16, 6], "fill": -1.5}],
  "nodes": [
    {"op": "MatMul", "inputs": ["x", "w1"], "outputs": ["h0"]},
    {"op": "Add", "inputs": ["h0", "b1"], "outputs": ["h1"]},
    {"op": "Relu", "inputs": ["h1"], "outputs": ["h"]},
    {"op": "MatMul", "inputs": ["h", "w2"], "outputs": ["y"]}],
  "outputs": [{"name": "y", "dtype": "f32", "shape": [4, 6]}]
})";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto specs = partita::parseShardings(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.json", error);
  if (mlir::failed(specs))
    return 0;
  mlir::MLIRContext &ctx = partita::fuzz::context();
  static mlir::ModuleOp model = [&] {
    partita::ImportOptions options;
    return partita::importJsonText(ctx, kModel, "mlp.json", options).release();
  }();
  if (!model)
    __builtin_trap(); // the fixed model itself must import
  mlir::OwningOpRef<mlir::ModuleOp> module = model.clone();
  // The file's own mesh when it has one, else data=2,model=2.
  std::optional<partita::MeshSpec> mesh;
  if (!specs->mesh)
    mesh = partita::MeshSpec{{{"data", 2}, {"model", 2}}};
  if (mlir::failed(partita::applyShardingAnnotations(*module, mesh, *specs, "fuzz.json")))
    return 0;
  (void)partita::partitionSpmd(*module, partita::SpmdOptions{});
  return 0;
}
