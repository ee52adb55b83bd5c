//===- GradientCheckTest.cpp - every gradient rule against finite differences ===//
//
// For each case: an op (and optionally ops after it) on random f64
// parameters, loss = sum(result * R) with a fixed random R; graph-autodiff
// differentiates it, the CPU pipeline compiles the step, and every element
// of every parameter's gradient is compared with central differences of the
// same compiled loss. EveryDifferentiableOpIsChecked fails when an op has a
// rule but no case here, EveryGraphOpDeclaresItsGradient when an op has
// neither a rule nor a "no gradient" declaration.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Graph/Interfaces/GradientInterface.h"
#include "partita/InitAll.h"
#include "partita/Runtime/Compiler.h"
#include "partita/Runtime/Executor.h"
#include "partita/Runtime/Train.h"
#include "passes/Autodiff/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>

using namespace mlir;
using namespace partita;

namespace {

enum class Domain { Any, Positive, Wide };

struct Step {
  std::string op;
  std::string attrs = "{}";
};

struct Case {
  std::string op;
  /// "2x3" (a float parameter), or "const:<attribute>" (a fixed operand).
  std::vector<std::string> operands;
  std::string attrs = "{}";
  Domain domain = Domain::Any;
  /// Ops applied to the first result after `op` (e.g. a cast back to f64).
  std::vector<Step> then = {};
  double h = 1e-5, tolerance = 1e-6;
};

const std::vector<Case> &cases() {
  static const std::vector<Case> all = {
      // Elementwise, unary.
      {"graph.abs", {"2x3"}},
      {"graph.neg", {"2x3"}},
      {"graph.relu", {"2x3"}},
      {"graph.reciprocal", {"2x3"}, "{}", Domain::Positive},
      {"graph.sqrt", {"2x3"}, "{}", Domain::Positive},
      {"graph.exp", {"2x3"}},
      {"graph.log", {"2x3"}, "{}", Domain::Positive},
      {"graph.sin", {"2x3"}},
      {"graph.cos", {"2x3"}},
      {"graph.tanh", {"2x3"}},
      {"graph.erf", {"2x3"}},
      {"graph.sigmoid", {"2x3"}},
      {"graph.softplus", {"2x3"}},
      {"graph.softsign", {"2x3"}},
      {"graph.hard_swish", {"3x4"}, "{}", Domain::Wide},
      {"graph.elu", {"2x3"}, "{alpha = 0.7 : f32}"},
      {"graph.celu", {"2x3"}, "{alpha = 0.8 : f32}"},
      {"graph.selu", {"2x3"}},
      {"graph.leaky_relu", {"2x3"}, "{alpha = 0.1 : f32}"},
      {"graph.hard_sigmoid", {"3x4"}, "{alpha = 0.2 : f32, beta = 0.5 : f32}", Domain::Wide},
      {"graph.thresholded_relu", {"2x3"}, "{alpha = 0.2 : f32}"},
      {"graph.clip", {"2x3"}, "{min = -0.5 : f64, max = 0.5 : f64}"},
      {"graph.cast", {"2x3"}, "{to = f32}", Domain::Any, {{"graph.cast", "{to = f64}"}}, 1e-2,
       1e-4},
      // Elementwise, binary (broadcasting) and select.
      {"graph.add", {"2x3", "3"}},
      {"graph.sub", {"2x3", "1x3"}},
      {"graph.mul", {"2x3", "2x1"}},
      {"graph.div", {"2x3", "3"}, "{}", Domain::Positive},
      {"graph.max", {"2x3", "2x3"}},
      {"graph.min", {"2x3", "3"}},
      {"graph.pow", {"2x3", "2x3"}, "{}", Domain::Positive},
      {"graph.prelu", {"2x3", "3"}},
      {"graph.where",
       {"const:dense<[[true, false, true], [false, true, true]]> : tensor<2x3xi1>", "2x3", "3"}},
      // Reductions and softmax-like.
      {"graph.reduce_sum", {"2x3x2"}, "{axes = array<i64: 1>, keepdims = false}"},
      {"graph.reduce_mean", {"2x3"}, "{axes = array<i64: 0, 1>, keepdims = true}"},
      {"graph.reduce_max", {"2x3x2"}, "{axes = array<i64: 1, 2>, keepdims = false}"},
      {"graph.reduce_min", {"2x3"}, "{axes = array<i64: 0>, keepdims = true}"},
      {"graph.reduce_l2", {"2x3"}, "{axes = array<i64: 1>, keepdims = false}"},
      {"graph.reduce_log_sum_exp", {"2x3"}, "{axes = array<i64: 1>, keepdims = true}"},
      {"graph.reduce_sum_square", {"2x3"}, "{axes = array<i64: 0>, keepdims = false}"},
      {"graph.reduce_prod", {"2x3x2"}, "{axes = array<i64: 1>, keepdims = false}"},
      {"graph.softmax", {"2x4"}, "{axis = 1 : i64}"},
      {"graph.log_softmax", {"2x4"}, "{axis = -1 : i64}"},
      {"graph.cumsum", {"2x4"}, "{axis = 1 : i64}"},
      // Normalizations.
      {"graph.layer_norm", {"2x3x4", "4", "4"}, "{axis = 2 : i64, epsilon = 1.0e-5 : f32}"},
      {"graph.instance_norm", {"2x2x3x3", "2", "2"}, "{epsilon = 1.0e-5 : f32}"},
      {"graph.batch_norm",
       {"2x3x2x2", "3", "3", "const:dense<[0.1, -0.2, 0.3]> : tensor<3xf64>",
        "const:dense<[0.5, 1.5, 2.0]> : tensor<3xf64>"},
       "{epsilon = 1.0e-5 : f32}"},
      // Contractions.
      {"graph.matmul", {"2x2x3", "3x4"}},
      {"graph.einsum", {"2x3", "3x4"}, "{equation = \"ij,jk->ik\"}"},
      {"graph.gemm", {"3x2", "4x3", "4"},
       "{transA = true, transB = true, alpha = 0.5 : f32, beta = 2.0 : f32}"},
      {"graph.conv", {"2x2x5x5", "3x2x3x3", "3"},
       "{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}"},
      // Pooling.
      {"graph.average_pool", {"1x2x5x5"},
       "{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, "
       "dilations = array<i64: 1, 1>}"},
      {"graph.max_pool", {"1x2x5x5"},
       "{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, "
       "dilations = array<i64: 1, 1>}"},
      {"graph.global_average_pool", {"2x3x2x2"}},
      {"graph.global_max_pool", {"2x3x2x2"}},
      // Data movement.
      {"graph.reshape", {"2x6"}, "{shape = array<i64: 3, 4>}"},
      {"graph.transpose", {"2x3x4"}, "{perm = array<i64: 2, 0, 1>}"},
      {"graph.expand", {"3x1"}, "{shape = array<i64: 2, 3, 4>}"},
      {"graph.concat", {"2x3", "2x2"}, "{axis = 1 : i64}"},
      {"graph.split", {"2x5"}, "{axis = 1 : i64, split = array<i64: 2, 3>}"},
      {"graph.slice", {"4x5"},
       "{starts = array<i64: 1, 0>, ends = array<i64: 3, 4>, steps = array<i64: 1, 1>}"},
      {"graph.pad", {"2x3"}, "{pads = array<i64: 1, -1, 0, 2>}"},
      {"graph.tile", {"2x3"}, "{repeats = array<i64: 2, 2>}"},
      {"graph.trilu", {"3x3"}, "{upper = false, k = 0 : i64}"},
      {"graph.gather", {"5x3", "const:dense<[[0, 4], [4, -1]]> : tensor<2x2xi64>"},
       "{axis = 0 : i64}"},
      {"graph.gather_elements",
       {"3x4", "const:dense<[[0, 2, 1, 0], [2, 2, 0, 1], [1, 0, 0, 2]]> : tensor<3x4xi64>"},
       "{axis = 0 : i64}"},
      {"graph.scatter_elements",
       {"3x4", "const:dense<[[0, 2, 1, 0], [2, 0, 0, 1]]> : tensor<2x4xi64>", "2x4"},
       "{axis = 0 : i64}"},
      {"graph.scatter_nd",
       {"3x4", "const:dense<[[0], [2]]> : tensor<2x1xi64>", "2x4"}},
      {"graph.mod", {"2x3", "3"}, "{}", Domain::Positive},
      {"graph.topk", {"2x5"}, "{k = 3 : i64, axis = 1 : i64}"},
      // Composites.
      {"graph.attention", {"2x3x4", "2x5x4", "2x5x3"}, "{scale = 0.5 : f64}"},
      // MoE: 6 tokens, 4 experts, top-2, capacity 2 (expert 1 gets 4
      // assignments: two are dropped).
      {"graph.moe_gate", {"6x4"}, "{k = 2 : i64}"},
      {"graph.moe_dispatch",
       {"6x3", "const:dense<[[1, 0], [1, 2], [3, 1], [1, 0], [2, 3], [0, 2]]> : tensor<6x2xi64>"},
       "{num_experts = 4 : i64, capacity = 2 : i64}"},
      // The same tokens in 2 groups of 3 with 1 slot each per expert.
      {"graph.moe_dispatch",
       {"6x3", "const:dense<[[1, 0], [1, 2], [3, 1], [1, 0], [2, 3], [0, 2]]> : tensor<6x2xi64>"},
       "{num_experts = 4 : i64, capacity = 1 : i64, groups = 2 : i64}"},
      {"graph.moe_combine",
       {"4x2x3", "6x2",
        "const:dense<[[1, 0], [1, 2], [3, 1], [1, 0], [2, 3], [0, 2]]> : tensor<6x2xi64>"},
       "{groups = 2 : i64}"},
      // Dropping by probability: the slots follow the (constant) priority.
      {"graph.moe_dispatch",
       {"6x3", "const:dense<[[1, 0], [1, 2], [3, 1], [1, 0], [2, 3], [0, 2]]> : tensor<6x2xi64>",
        "const:dense<[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5], [0.95, "
        "0.05]]> : tensor<6x2xf64>"},
       "{num_experts = 4 : i64, capacity = 1 : i64, groups = 2 : i64}"},
      {"graph.moe_combine",
       {"4x2x3", "6x2",
        "const:dense<[[1, 0], [1, 2], [3, 1], [1, 0], [2, 3], [0, 2]]> : tensor<6x2xi64>",
        "const:dense<[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5], [0.95, "
        "0.05]]> : tensor<6x2xf64>"},
       "{groups = 2 : i64}"},
      {"graph.moe_expert_matmul", {"4x2x3", "4x3x5"}},
      {"graph.moe_combine",
       {"4x2x3", "6x2",
        "const:dense<[[1, 0], [1, 2], [3, 1], [1, 0], [2, 3], [0, 2]]> : tensor<6x2xi64>"}},
  };
  return all;
}

/// Extra checks of rules with more than one form.
const std::vector<Case> &variants() {
  static const std::vector<Case> all = {
      {"graph.matmul", {"3", "3x4"}},
      {"graph.matmul", {"2x3", "3"}},
      {"graph.matmul", {"2x1x2x3", "3x3x2"}},
      {"graph.gemm", {"2x3", "3x4"}},
      // Einsum: batched, an outer product, a label summed alone (and a
      // size-1 label broadcast), a full contraction, a leading ellipsis,
      // three operands, the implicit output.
      {"graph.einsum", {"2x3x4", "2x4x5"}, "{equation = \"bij,bjk->bik\"}"},
      {"graph.einsum", {"3", "4"}, "{equation = \"i,j->ij\"}"},
      {"graph.einsum", {"3x4x2", "1x2"}, "{equation = \"ijk,lk->jl\"}"},
      {"graph.einsum", {"3x4", "3x4"}, "{equation = \"ij,ij->\"}"},
      {"graph.einsum", {"2x3x4", "4x2"}, "{equation = \"...ij,jk->...ik\"}"},
      {"graph.einsum", {"2x3", "3x4", "4x2"}, "{equation = \"ij,jk,kl->il\"}"},
      {"graph.einsum", {"2x3", "3x4"}, "{equation = \"ij,jk\"}"},
      {"graph.gather", {"2x5x3", "const:dense<[1, 3, 3]> : tensor<3xi64>"}, "{axis = 1 : i64}"},
      {"graph.cumsum", {"2x4"}, "{axis = 1 : i64, exclusive = true, reverse = true}"},
      {"graph.layer_norm", {"2x3x4", "3x4"}, "{axis = 1 : i64, epsilon = 1.0e-5 : f32}"},
      // Strided with rows the last window does not reach, dilated, asymmetric pads.
      {"graph.conv", {"1x2x6x7", "2x2x3x2"},
       "{strides = array<i64: 2, 3>, pads = array<i64: 0, 1, 1, 0>, dilations = array<i64: 1, 2>}"},
      // Grouped (2 groups) and depthwise, 1-D.
      {"graph.conv", {"2x4x5x5", "6x2x3x3", "6"},
       "{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}"},
      {"graph.conv", {"2x3x7", "3x1x3"},
       "{strides = array<i64: 2>, pads = array<i64: 1, 1>, dilations = array<i64: 1>, group = 3 : i64}"},
      // Without count_include_pad: border windows average fewer elements.
      {"graph.average_pool", {"1x2x4x4"},
       "{kernel_shape = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 0, 0>, "
       "dilations = array<i64: 1, 1>, count_include_pad = false}"},
      // Max pools: overlapping windows, ceil_mode's partial last window,
      // dilated, 1-D without padding.
      {"graph.max_pool", {"1x2x6x6"},
       "{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, "
       "dilations = array<i64: 1, 1>, ceil_mode = true}"},
      {"graph.max_pool", {"1x1x7x7"},
       "{kernel_shape = array<i64: 2, 3>, strides = array<i64: 1, 2>, pads = array<i64: 1, 0, 0, 1>, "
       "dilations = array<i64: 2, 1>}"},
      {"graph.max_pool", {"2x3x8"},
       "{kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>, "
       "dilations = array<i64: 1>}"},
      {"graph.scatter_elements",
       {"3x4", "const:dense<[[0, 2, 1, 0], [0, 2, 0, 1]]> : tensor<2x4xi64>", "2x4"},
       "{axis = 0 : i64, reduction = #graph<reduction add>}"},
      {"graph.topk", {"3x4x2"}, "{k = 2 : i64, axis = 1 : i64, largest = false}"},
      // Tuples into the first two dimensions, a negative index, summed.
      {"graph.scatter_nd",
       {"2x3x2", "const:dense<[[0, 1], [1, -1], [0, 1]]> : tensor<3x2xi64>", "3x2"},
       "{reduction = #graph<reduction add>}"},
      {"graph.mod", {"2x3", "2x3"}, "{fmod = true}", Domain::Positive},
      {"graph.moe_gate", {"5x6"}, "{k = 3 : i64, normalize = true}"},
      // Causal (fewer queries than keys: the queries are the last ones),
      // and with an additive mask that is trained too.
      {"graph.attention", {"2x2x3x4", "2x2x5x4", "2x2x5x2"}, "{scale = 0.5 : f64, causal = true}"},
      {"graph.attention", {"2x3x4", "2x5x4", "2x5x3", "3x5"}, "{scale = 0.35 : f64}"},
      {"graph.average_pool", {"1x1x5x5"},
       "{kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, "
       "dilations = array<i64: 1, 1>, count_include_pad = true}"},
  };
  return all;
}

DialectRegistry registry() {
  DialectRegistry r;
  registerAllDialects(r);
  return r;
}

SmallVector<int64_t> parseShape(StringRef s) {
  SmallVector<int64_t> shape;
  SmallVector<StringRef> parts;
  s.split(parts, 'x');
  for (StringRef p : parts)
    shape.push_back(std::stoll(p.str()));
  return shape;
}

HostTensor randomF64(ArrayRef<int64_t> shape, Domain d, std::mt19937_64 &rng) {
  HostTensor t(DType::F64, std::vector<int64_t>(shape));
  std::uniform_real_distribution<double> any(-1, 1), pos(0.5, 1.5), wide(-5, 5);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    double v = d == Domain::Positive ? pos(rng) : d == Domain::Wide ? wide(rng) : any(rng);
    std::memcpy(t.data.data() + 8 * i, &v, 8);
  }
  return t;
}

double at(const HostTensor &t, int64_t i) { return t.getDouble(i); }
void set(HostTensor &t, int64_t i, double v) { std::memcpy(t.data.data() + 8 * i, &v, 8); }

DenseElementsAttr attrOf(const HostTensor &t, MLIRContext &ctx) {
  auto type = RankedTensorType::get(t.shape, Float64Type::get(&ctx));
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(reinterpret_cast<const char *>(t.data.data()), t.numBytes()));
}

/// Builds @main() -> sum(op(params...) * R); the parameters' values go to
/// `params`. Null after a failure (reported by gtest).
OwningOpRef<ModuleOp> buildCase(MLIRContext &ctx, const Case &c, std::vector<HostTensor> &params) {
  std::mt19937_64 rng(std::hash<std::string>{}(c.op + c.attrs));
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto lossType = RankedTensorType::get({}, b.getF64Type());
  auto main = func::FuncOp::create(b, loc, "main", b.getFunctionType({}, {lossType}));
  b.setInsertionPointToEnd(main.addEntryBlock());
  SmallVector<Value> operands;
  for (const std::string &spec : c.operands) {
    if (StringRef(spec).starts_with("const:")) {
      auto attr = dyn_cast_or_null<ElementsAttr>(parseAttribute(spec.substr(6), &ctx));
      EXPECT_TRUE(attr) << c.op << ": bad constant " << spec;
      if (!attr)
        return nullptr;
      operands.push_back(graph::ConstantOp::create(b, loc, attr.getType(), attr));
      continue;
    }
    params.push_back(randomF64(parseShape(spec), c.domain, rng));
    // Named like an initializer (NAME(file:0:0)): graph-autodiff trains it.
    Location ploc = NameLoc::get(b.getStringAttr("p" + std::to_string(params.size() - 1)),
                                 FileLineColLoc::get(&ctx, "fd", 0, 0));
    DenseElementsAttr value = attrOf(params.back(), ctx);
    operands.push_back(graph::ConstantOp::create(b, ploc, value.getType(), value));
  }
  auto attrs = dyn_cast_or_null<DictionaryAttr>(parseAttribute(c.attrs, &ctx));
  EXPECT_TRUE(attrs) << c.op << ": bad attributes " << c.attrs;
  if (!attrs)
    return nullptr;
  Operation *op = graph::createInferred(b, loc, c.op, operands, attrs.getValue());
  EXPECT_TRUE(op) << c.op << ": cannot build the op";
  if (!op)
    return nullptr;
  SmallVector<Value> results(op->getResults());
  for (const Step &s : c.then) {
    auto a = cast<DictionaryAttr>(parseAttribute(s.attrs, &ctx));
    results[0] = graph::createInferred(b, loc, s.op, {results[0]}, a.getValue())->getResult(0);
  }
  Value total;
  for (Value r : results) {
    auto type = cast<RankedTensorType>(r.getType());
    if (!type.getElementType().isF64())
      continue;
    HostTensor w = randomF64(type.getShape(), Domain::Any, rng);
    DenseElementsAttr wv = attrOf(w, ctx);
    Value weighted = graph::createInferred<graph::MulOp>(
                         b, loc, {r, graph::ConstantOp::create(b, loc, wv.getType(), wv)})
                         ->getResult(0);
    SmallVector<int64_t> axes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      axes.push_back(d);
    Value s = graph::createInferred<graph::ReduceSumOp>(
                  b, loc, {weighted},
                  {b.getNamedAttr("axes", b.getDenseI64ArrayAttr(axes)),
                   b.getNamedAttr("keepdims", b.getBoolAttr(false))})
                  ->getResult(0);
    total = total ? graph::createInferred<graph::AddOp>(b, loc, {total, s})->getResult(0) : s;
  }
  func::ReturnOp::create(b, loc, total);
  return module;
}

void checkCase(const Case &c) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  registerAllPasses();
  std::vector<HostTensor> params;
  OwningOpRef<ModuleOp> module = buildCase(ctx, c, params);
  ASSERT_TRUE(module);
  PassManager pm(&ctx, ModuleOp::getOperationName());
  ASSERT_TRUE(succeeded(
      parsePassPipeline("graph-autodiff{loss=sum optimizer=none return-grads=true}", pm)));
  ASSERT_TRUE(succeeded(pm.run(*module))) << c.op << ": graph-autodiff failed";
  func::FuncOp step = makeStepTheEntry(*module);
  ASSERT_TRUE(step);
  ASSERT_EQ(step.getNumArguments(), params.size()) << c.op;
  std::vector<int64_t> gradientOf;
  for (unsigned r = 1; r < step.getNumResults(); ++r)
    gradientOf.push_back(step.getResultAttrOfType<IntegerAttr>(r, "graph.gradient_of").getInt());
  auto sig = getSignature(*module);
  ASSERT_TRUE(succeeded(sig));
  CompileOptions options;
  StageTimer timer;
  ASSERT_TRUE(succeeded(lowerToLLVM(*module, options, timer, &*sig))) << c.op;
  auto exec = Executor::create(*module, *sig, /*optLevel=*/0);
  ASSERT_TRUE(exec) << c.op;

  std::vector<HostTensor> out;
  auto loss = [&](const std::vector<HostTensor> &in) -> double {
    std::vector<HostTensor> o;
    if (auto e = exec->run(in, o)) {
      ADD_FAILURE() << c.op << ": " << llvm::toString(std::move(e));
      return NAN;
    }
    return at(o[0], 0);
  };
  if (auto e = exec->run(params, out))
    FAIL() << c.op << ": " << llvm::toString(std::move(e));
  for (auto [r, argIdx] : llvm::enumerate(gradientOf)) {
    const HostTensor &grad = out[r + 1];
    for (int64_t i = 0; i < grad.numElements(); ++i) {
      std::vector<HostTensor> plus = params, minus = params;
      double x = at(params[argIdx], i);
      set(plus[argIdx], i, x + c.h);
      set(minus[argIdx], i, x - c.h);
      double fd = (loss(plus) - loss(minus)) / (2 * c.h);
      double ad = at(grad, i);
      EXPECT_NEAR(ad, fd, c.tolerance * (1 + std::abs(fd)))
          << c.op << " " << c.attrs << ": d loss / d p" << argIdx << "[" << i << "]";
    }
  }
  // Every parameter got a gradient.
  EXPECT_EQ(gradientOf.size(), params.size()) << c.op;
}

class GradientCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradientCheck, MatchesCentralDifferences) { checkCase(GetParam()); }

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  std::string n = info.param.op.substr(6) + "_" + std::to_string(info.index);
  return n;
}

INSTANTIATE_TEST_SUITE_P(Rules, GradientCheck, ::testing::ValuesIn(cases()), caseName);
INSTANTIATE_TEST_SUITE_P(Variants, GradientCheck, ::testing::ValuesIn(variants()), caseName);

TEST(Gradients, EveryGraphOpDeclaresItsGradient) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  std::vector<std::string> missing;
  for (RegisteredOperationName name : ctx.getRegisteredOperations())
    if (name.getDialectNamespace() == "graph" &&
        !name.hasInterface<graph::GradientOpInterface>())
      missing.push_back(name.getStringRef().str());
  // Not differentiated yet: each is a one-line error naming the op when it
  // lies between a parameter and the loss (docs/training.md lists them).
  const std::set<std::string> notYet = {};
  for (const std::string &m : missing)
    EXPECT_TRUE(notYet.count(m)) << m << " neither has a gradient rule nor declares none";
  for (const std::string &n : notYet)
    EXPECT_TRUE(llvm::is_contained(missing, n)) << n << " has a rule now: drop it from notYet";
}

TEST(Gradients, EveryDifferentiableOpIsChecked) {
  MLIRContext ctx(registry());
  ctx.loadAllAvailableDialects();
  llvm::StringSet<> checked;
  for (const Case &c : cases())
    checked.insert(c.op);
  int rules = 0;
  for (RegisteredOperationName name : ctx.getRegisteredOperations()) {
    auto *gradient = name.getInterface<graph::GradientOpInterface>();
    if (name.getDialectNamespace() != "graph" || !gradient)
      continue;
    std::string n = name.getStringRef().str();
    if (gradient->hasGradientRule()) {
      ++rules;
      EXPECT_TRUE(checked.contains(n)) << n << " has a gradient rule but no finite-difference case";
    } else {
      EXPECT_FALSE(checked.contains(n)) << n << " declares no gradient but has a case";
    }
  }
  EXPECT_GE(rules, 61);
}

} // namespace
