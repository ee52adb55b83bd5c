//===- PlannerCostModelTest.cpp - the cost model on hand-computed cases ---===//
//
// Every expected number below is computed by hand from the formulas in
// docs/planner.md and the preset values in cluster/*.json.
//
//===----------------------------------------------------------------------===//

#include "partita/InitAll.h"
#include "partita/Planner/Cluster.h"
#include "partita/Planner/CostModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace partita::planner;

namespace {

DialectRegistry registry() {
  DialectRegistry r;
  partita::registerAllDialects(r);
  return r;
}

Cluster preset(const char *name) {
  std::string error;
  auto c = readClusterFile(std::string(PARTITA_SOURCE_DIR) + "/cluster/" + name + ".json", error);
  EXPECT_TRUE(succeeded(c)) << error;
  return succeeded(c) ? *c : Cluster();
}

CostReport cost(MLIRContext &ctx, const std::string &text, const Cluster &cluster) {
  OwningOpRef<ModuleOp> m = parseSourceString<ModuleOp>(text, &ctx);
  EXPECT_TRUE(m) << "bad test module";
  std::string error;
  auto r = estimateCost(*m, cluster, error);
  EXPECT_TRUE(succeeded(r)) << error;
  return succeeded(r) ? *r : CostReport();
}

// H100 SXM: 989 TF/s bf16, 66.9 TF/s f32, 3.35 TB/s.
TEST(PlannerCostModel, SingleMatmulOnH100) {
  MLIRContext ctx(registry());
  Cluster h100 = preset("h100x8");
  for (auto [dtype, bytes, peak] : {std::tuple{"bf16", 2.0, 989e12}, {"f32", 4.0, 66.9e12}}) {
    std::string t = std::string("tensor<1024x1024x") + dtype + ">";
    std::string text = "func.func @main(%a: " + t + ", %b: " + t + ") -> " + t +
                       " {\n  %c = graph.matmul %a, %b : (" + t + ", " + t + ") -> " + t +
                       "\n  return %c : " + t + "\n}\n";
    CostReport r = cost(ctx, text, h100);
    ASSERT_EQ(r.ops.size(), 1u);
    double flops = 2.0 * 1024 * 1024 * 1024; // 2·M·N·K
    EXPECT_DOUBLE_EQ(r.ops[0].flops, flops);
    EXPECT_DOUBLE_EQ(r.ops[0].bytes, 3 * 1024 * 1024 * bytes);
    // Compute-bound on both: 2.17 us (bf16) and 32.1 us (f32) > bytes/3.35e12.
    EXPECT_GT(flops / peak, 3 * 1024 * 1024 * bytes / 3.35e12);
    EXPECT_NEAR(r.computeTime, flops / peak, 1e-15) << dtype;
    EXPECT_EQ(r.commTime, 0);
  }
  EXPECT_NEAR(2.0 * 1024 * 1024 * 1024 / 989e12, 2.1713e-6, 1e-9);
}

// A memory-bound op: an elementwise add of 2 f32 [1024,1024] tensors reads 8
// MiB and writes 4 MiB: 12582912 B / 3.35e12 B/s = 3.756 us (1 FLOP per
// element would take only 15.7 ns).
TEST(PlannerCostModel, ElementwiseIsMemoryBound) {
  MLIRContext ctx(registry());
  std::string t = "tensor<1024x1024xf32>";
  CostReport r = cost(ctx,
                      "func.func @main(%a: " + t + ", %b: " + t + ") -> " + t +
                          " {\n %c = graph.add %a, %b : (" + t + ", " + t + ") -> " + t +
                          "\n return %c : " + t + "\n}\n",
                      preset("h100x8"));
  EXPECT_DOUBLE_EQ(r.flops, 1024.0 * 1024);
  EXPECT_NEAR(r.computeTime, 12582912.0 / 3.35e12, 1e-15);
}

// Ring all-reduce: 2(n−1)/n · S/B + 2(n−1)·α.
TEST(PlannerCostModel, SingleAllReduceOnH100) {
  MLIRContext ctx(registry());
  Cluster h100 = preset("h100x8");
  std::string t = "tensor<1024x1024xf32>";
  CostReport r = cost(ctx,
                      "sharding.mesh @mesh = <[\"model\"=8]>\n"
                      "func.func @main(%a: " + t + ") -> " + t + " {\n"
                      "  %b = collectives.all_reduce %a on @mesh [\"model\"] : " + t + "\n"
                      "  return %b : " + t + "\n}\n",
                      h100);
  ASSERT_EQ(r.ops.size(), 1u);
  const OpCost &c = r.ops[0];
  EXPECT_EQ(c.collective, "all_reduce");
  EXPECT_EQ(c.groupSize, 8);
  EXPECT_EQ(c.link, "nvlink");
  double S = 4.0 * 1024 * 1024, B = 450e9 * 0.8222, alpha = 1e-6, n = 8;
  double expected = 2 * (n - 1) / n * S / B + 2 * (n - 1) * alpha;
  EXPECT_DOUBLE_EQ(c.commBytes, S);
  EXPECT_NEAR(c.commTime, expected, 1e-15);
  // 1.75 · 4194304 B / 369.99 GB/s = 19.84 us, plus 14 · 1 us latency.
  EXPECT_NEAR(expected, 33.84e-6, 0.01e-6);
  EXPECT_DOUBLE_EQ(r.commTime, c.commTime);
}

// The same on the cluster preset: a group that leaves the node runs at the
// InfiniBand bandwidth (the slowest link among the axes).
TEST(PlannerCostModel, AxesMapToLinks) {
  MLIRContext ctx(registry());
  Cluster cl = preset("h100-cluster");
  std::string error;
  auto links = cl.mapAxes({{"data", 4}, {"model", 8}}, error);
  ASSERT_TRUE(succeeded(links)) << error;
  EXPECT_EQ((*links)["model"]->name, "nvlink");
  EXPECT_EQ((*links)["data"]->name, "infiniband");
  std::string t = "tensor<256xf32>";
  CostReport r = cost(ctx,
                      "sharding.mesh @mesh = <[\"data\"=4, \"model\"=8]>\n"
                      "func.func @main(%a: " + t + ") -> " + t + " {\n"
                      "  %b = collectives.all_reduce %a on @mesh [\"data\", \"model\"] : " + t + "\n"
                      "  %c = collectives.all_gather %b on @mesh [\"model\"] {dim = 0 : i64} : (" +
                          t + ") -> tensor<2048xf32>\n"
                      "  %d = collectives.axis_slice %c on @mesh [\"model\"] {dim = 0 : i64} : "
                      "(tensor<2048xf32>) -> " + t + "\n"
                      "  return %d : " + t + "\n}\n",
                      cl);
  ASSERT_EQ(r.ops.size(), 3u);
  // all_reduce over 32 devices on InfiniBand (50 GB/s, 5 us).
  EXPECT_EQ(r.ops[0].groupSize, 32);
  EXPECT_EQ(r.ops[0].link, "infiniband");
  EXPECT_NEAR(r.ops[0].commTime, 2.0 * 31 / 32 * 1024 / 50e9 + 2 * 31 * 5e-6, 1e-15);
  // all_gather over 8 on NVLink: (n−1)/n · S/B + (n−1)·α with S the result.
  EXPECT_EQ(r.ops[1].link, "nvlink");
  EXPECT_DOUBLE_EQ(r.ops[1].commBytes, 8192);
  EXPECT_NEAR(r.ops[1].commTime, 7.0 / 8 * 8192 / (450e9 * 0.8222) + 7 * 1e-6, 1e-15);
  // axis_slice communicates nothing.
  EXPECT_TRUE(r.ops[2].collective.empty());
  EXPECT_EQ(r.ops[2].commTime, 0);
  // A mesh larger than the cluster is an error.
  EXPECT_TRUE(failed(cl.mapAxes({{"data", 1024}}, error)));
  EXPECT_EQ(error, "the mesh needs 1024 devices; cluster 'h100-cluster' has 512");
}

// A 2-matmul MLP, x[8,64] · w1[64,256] · w2[256,64], f32.
const char *kMlp = R"(
func.func @main(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %w1 = graph.constant {value = dense<1.0> : tensor<64x256xf32>} : tensor<64x256xf32> loc("layers.0.fc1.weight")
  %w2 = graph.constant {value = dense<1.0> : tensor<256x64xf32>} : tensor<256x64xf32> loc("layers.0.fc2.weight")
  %h = graph.matmul %x, %w1 : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32> loc("layers.0.fc1")
  %r = graph.relu %h : tensor<8x256xf32> loc("layers.0.relu")
  %y = graph.matmul %r, %w2 : (tensor<8x256xf32>, tensor<256x64xf32>) -> tensor<8x64xf32> loc("layers.0.fc2")
  return %y : tensor<8x64xf32>
}
)";

// The same MLP after Megatron partitioning on model=2.
const char *kMlpMegatron = R"(
sharding.mesh @mesh = <["model"=2]>
func.func @main(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %w1 = graph.constant {value = dense<1.0> : tensor<64x256xf32>} : tensor<64x256xf32>
  %w1l = collectives.axis_slice %w1 on @mesh ["model"] {dim = 1 : i64} : (tensor<64x256xf32>) -> tensor<64x128xf32>
  %w2 = graph.constant {value = dense<1.0> : tensor<256x64xf32>} : tensor<256x64xf32>
  %w2l = collectives.axis_slice %w2 on @mesh ["model"] {dim = 0 : i64} : (tensor<256x64xf32>) -> tensor<128x64xf32>
  %h = graph.matmul %x, %w1l : (tensor<8x64xf32>, tensor<64x128xf32>) -> tensor<8x128xf32> loc("layers.0.fc1")
  %r = graph.relu %h : tensor<8x128xf32> loc("layers.0.relu")
  %y = graph.matmul %r, %w2l : (tensor<8x128xf32>, tensor<128x64xf32>) -> tensor<8x64xf32> loc("layers.0.fc2")
  %s = collectives.all_reduce %y on @mesh ["model"] : tensor<8x64xf32> loc("layers.0.fc2.sum")
  return %s : tensor<8x64xf32>
}
)";

TEST(PlannerCostModel, MlpMemory) {
  MLIRContext ctx(registry());
  Cluster h100 = preset("h100x8");
  CostReport r = cost(ctx, kMlp, h100);
  // Parameters: (64·256 + 256·64) · 4 B; input 8·64·4 B.
  EXPECT_DOUBLE_EQ(r.parameterBytes, 131072);
  EXPECT_DOUBLE_EQ(r.inputBytes, 2048);
  // Live at relu: h (8·256·4 = 8192, last used there) + r (8192) = 16384;
  // at fc2: r + y (2048) = 10240. Peak 16384 at relu.
  EXPECT_DOUBLE_EQ(r.peakActivationBytes, 16384);
  EXPECT_EQ(r.peakAfter, "layers.0.relu");
  EXPECT_DOUBLE_EQ(r.peakMemory(), 131072 + 2048 + 16384);
  // FLOPs: 2·8·256·64 + 8·256 + 2·8·64·256.
  EXPECT_DOUBLE_EQ(r.flops, 262144 + 2048 + 262144);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_EQ(r.layers[0].layer, "layers.0");

  CostReport m = cost(ctx, kMlpMegatron, h100);
  // Weights are loaded as their blocks: half the parameters.
  EXPECT_DOUBLE_EQ(m.parameterBytes, 65536);
  // At relu: h (4096) + r (4096); at fc2: r + y (2048); at the all-reduce:
  // y + s (2048). Peak 8192.
  EXPECT_DOUBLE_EQ(m.peakActivationBytes, 8192);
  EXPECT_DOUBLE_EQ(m.flops, (262144 + 2048 + 262144) / 2.0);
  // One all-reduce of b·h = 8·64 f32 elements over 2 devices.
  unsigned allReduces = 0;
  for (const OpCost &c : m.ops)
    if (c.collective == "all_reduce") {
      ++allReduces;
      EXPECT_DOUBLE_EQ(c.elements, 512);
      EXPECT_DOUBLE_EQ(c.commBytes, 2048);
      EXPECT_NEAR(c.commTime, 2.0 * 1 / 2 * 2048 / (450e9 * 0.8222) + 2 * 1e-6, 1e-15);
      EXPECT_EQ(c.layer, "layers.0");
    }
  EXPECT_EQ(allReduces, 1u);
}

TEST(PlannerCostModel, LayerNames) {
  EXPECT_EQ(layerOf("layers.0.attn.q_proj.matmul"), "layers.0");
  EXPECT_EQ(layerOf("model.h.11.mlp"), "model.h.11");
  EXPECT_EQ(layerOf("wte.gather"), "other");
  EXPECT_EQ(layerOf("0.weight"), "other");
  EXPECT_EQ(layerOf(""), "other");
  // torch.onnx.export's node names (Hugging Face, torchvision).
  EXPECT_EQ(layerOf("/model/layers.3/self_attn/q_proj/MatMul"), "/model/layers.3");
  EXPECT_EQ(layerOf("/features/features.11/conv/conv.0/Conv"), "/features/features.11");
  EXPECT_EQ(layerOf("/fc/Gemm"), "other");
}

TEST(PlannerCluster, PresetsLoad) {
  for (const char *name : {"h100x8", "h100-cluster", "a100-megatron", "cpu-local"}) {
    Cluster c = preset(name);
    EXPECT_EQ(c.name, name);
    EXPECT_GT(c.device.memoryBytes, 0);
    EXPECT_GT(c.device.flopsFor("f32"), 0);
  }
  EXPECT_EQ(preset("h100x8").numDevices(), 8);
  EXPECT_EQ(preset("h100-cluster").numDevices(), 512);
  EXPECT_EQ(preset("a100-megatron").numDevices(), 3072);
  EXPECT_DOUBLE_EQ(preset("a100-megatron").device.flopsFor("bf16"), 312e12);
  EXPECT_DOUBLE_EQ(preset("h100x8").device.flopsFor("bf16"), 989e12);
  EXPECT_DOUBLE_EQ(preset("h100x8").device.memoryBandwidth, 3.35e12);
}

TEST(PlannerCluster, MalformedFilesGiveOneLine) {
  std::string error;
  auto check = [&](const char *text, const char *expected) {
    EXPECT_TRUE(failed(parseCluster(text, "c.json", error))) << text;
    EXPECT_EQ(error, expected);
    EXPECT_EQ(error.find('\n'), std::string::npos);
  };
  check("{", "c.json: not valid JSON");
  check("[]", "c.json: expected an object with \"device\", \"levels\" and \"links\"");
  check(R"({"device": {"peak_tflops": {"f32": 1}, "memory_gb": 1}})",
        "c.json: device needs \"memory_bandwidth_gb_s\"");
  check(R"({"device": {"peak_tflops": {"f32": -1}}})",
        "c.json: device.peak_tflops.f32 must be a positive number");
  check(R"({"device": {"peak_tflops": {"f32": 1}, "memory_gb": 1, "memory_bandwidth_gb_s": 1},
            "links": {"nv": {"bandwidth_gb_s": 1, "latency_us": 0}},
            "levels": [{"size": 8, "link": "ib"}]})",
        "c.json: levels[0].link must name one of \"links\"");
  check(R"({"device": {"peak_tflops": {"f32": 1}, "memory_gb": 1, "memory_bandwidth_gb_s": 1},
            "links": {"nv": {"bandwidth_gb_s": 1}}})",
        "c.json: links.nv needs \"latency_us\"");
  check(R"({"devices": {}})",
        "c.json: unknown key \"devices\" in the cluster (expected axis_links, collectives, "
        "description, device, levels, links, name, sources)");
  EXPECT_TRUE(failed(readClusterFile("/nonexistent/x.json", error)));
  EXPECT_EQ(error.rfind("cannot read cluster file '/nonexistent/x.json'", 0), 0u);
}

} // namespace

// ZeRO's memory model (REFERENCES.md, "ZeRO"): Psi = 1e9 f32 parameters
// with AdamW, N = 8 data-parallel ranks.
TEST(PlannerCostModel, ZeroMemoryStages) {
  const double psi = 4e9; // bytes of the parameters
  auto at = [&](int stage) { return trainingStateBytes(psi, 2, stage, 8); };
  EXPECT_DOUBLE_EQ(at(0).total(), 16e9);             // 16 Psi
  EXPECT_DOUBLE_EQ(at(1).total(), 8e9 + 8e9 / 8);    // 8 Psi + 8 Psi / N
  EXPECT_DOUBLE_EQ(at(2).total(), 4e9 + 12e9 / 8);   // 4 Psi + 12 Psi / N
  EXPECT_DOUBLE_EQ(at(3).total(), 16e9 / 8);         // 16 Psi / N
  EXPECT_DOUBLE_EQ(at(2).gradients, 4e9 / 8);
  EXPECT_DOUBLE_EQ(at(2).parameters, 4e9);
  // SGD with momentum holds one state tensor; plain SGD none.
  EXPECT_DOUBLE_EQ(trainingStateBytes(psi, 1, 0, 8).optimizer, 4e9);
  EXPECT_DOUBLE_EQ(trainingStateBytes(psi, 0, 3, 8).total(), 8e9 / 8);
  // One rank: ZeRO changes nothing.
  EXPECT_DOUBLE_EQ(trainingStateBytes(psi, 2, 3, 1).total(), 16e9);
}
