//===- JsonExporter.cpp - graph dialect -> the Partita JSON graph IR ------===//
//
// Writes @main as docs/json-format.md: arguments become inputs, the leading
// graph.constant ops parameters, every other op one ONNX-style node that the
// importer's handler table turns back into the same op. Most ops need only
// the generic attribute conversion; the few whose dialect form differs from
// what the ONNX handler reads (Slice's normalized ends, Reshape's zero
// dimensions, OneHot's operand positions) are fixed up in one place.
//
//===----------------------------------------------------------------------===//

#include "JsonCommon.h"
#include "OpImporters.h"

#include "dialects/Graph/IR/GraphOps.h"
#include "partita/Import/Importer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace partita::graph;

namespace partita::import {
namespace {

/// The node op type of each graph op: ONNX names, and Partita names for the
/// composites (which have no ONNX op).
const llvm::StringMap<StringRef> &opTypeTable() {
  static const llvm::StringMap<StringRef> table = [] {
    llvm::StringMap<StringRef> t;
    auto add = [&](StringRef graphOp, StringRef onnx) { t[graphOp] = onnx; };
#define OP(CLASS, NAME) add(CLASS::getOperationName(), NAME)
    // Unary elementwise.
    OP(AbsOp, "Abs"); OP(CeilOp, "Ceil"); OP(CeluOp, "Celu"); OP(CosOp, "Cos");
    OP(EluOp, "Elu"); OP(ErfOp, "Erf"); OP(ExpOp, "Exp"); OP(FloorOp, "Floor");
    OP(HardSigmoidOp, "HardSigmoid"); OP(HardSwishOp, "HardSwish");
    OP(LeakyReluOp, "LeakyRelu"); OP(LogOp, "Log"); OP(NegOp, "Neg");
    OP(NotOp, "Not"); OP(ReciprocalOp, "Reciprocal"); OP(ReluOp, "Relu");
    OP(SeluOp, "Selu"); OP(SigmoidOp, "Sigmoid"); OP(SignOp, "Sign");
    OP(SinOp, "Sin"); OP(SoftplusOp, "Softplus"); OP(SoftsignOp, "Softsign");
    OP(SqrtOp, "Sqrt"); OP(TanhOp, "Tanh");
    OP(ThresholdedReluOp, "ThresholdedRelu"); OP(CastOp, "Cast");
    OP(ClipOp, "Clip");
    // Binary elementwise.
    OP(AddOp, "Add"); OP(AndOp, "And"); OP(DivOp, "Div"); OP(EqualOp, "Equal");
    OP(GreaterOp, "Greater"); OP(GreaterOrEqualOp, "GreaterOrEqual");
    OP(LessOp, "Less"); OP(LessOrEqualOp, "LessOrEqual"); OP(MaxOp, "Max");
    OP(MinOp, "Min"); OP(ModOp, "Mod"); OP(MulOp, "Mul"); OP(OrOp, "Or");
    OP(PowOp, "Pow"); OP(PReluOp, "PRelu"); OP(SubOp, "Sub"); OP(XorOp, "Xor");
    OP(WhereOp, "Where");
    // Reductions and normalizations.
    OP(ArgMaxOp, "ArgMax"); OP(ArgMinOp, "ArgMin"); OP(CumSumOp, "CumSum");
    OP(LogSoftmaxOp, "LogSoftmax"); OP(ReduceL2Op, "ReduceL2");
    OP(ReduceLogSumExpOp, "ReduceLogSumExp"); OP(ReduceMaxOp, "ReduceMax");
    OP(ReduceMeanOp, "ReduceMean"); OP(ReduceMinOp, "ReduceMin");
    OP(ReduceProdOp, "ReduceProd"); OP(ReduceSumOp, "ReduceSum");
    OP(ReduceSumSquareOp, "ReduceSumSquare"); OP(SoftmaxOp, "Softmax");
    OP(TopKOp, "TopK"); OP(BatchNormOp, "BatchNormalization");
    OP(InstanceNormOp, "InstanceNormalization");
    OP(LayerNormOp, "LayerNormalization");
    // Contractions, convolution, pooling.
    OP(ConvOp, "Conv"); OP(EinsumOp, "Einsum"); OP(GemmOp, "Gemm");
    OP(MatMulOp, "MatMul"); OP(AveragePoolOp, "AveragePool");
    OP(MaxPoolOp, "MaxPool"); OP(GlobalAveragePoolOp, "GlobalAveragePool");
    OP(GlobalMaxPoolOp, "GlobalMaxPool");
    // Data movement.
    OP(ConstantOp, "Constant"); OP(ConcatOp, "Concat"); OP(ExpandOp, "Expand");
    OP(GatherOp, "Gather"); OP(GatherElementsOp, "GatherElements");
    OP(OneHotOp, "OneHot"); OP(PadOp, "Pad"); OP(ReshapeOp, "Reshape");
    OP(ScatterElementsOp, "ScatterElements"); OP(ScatterNDOp, "ScatterND");
    OP(SliceOp, "Slice"); OP(SplitOp, "Split"); OP(TileOp, "Tile");
    OP(TransposeOp, "Transpose"); OP(TriluOp, "Trilu");
    // Composites (Partita names).
    OP(AttentionOp, "Attention"); OP(MoeGateOp, "MoeGate");
    OP(MoeDispatchOp, "MoeDispatch"); OP(MoeExpertMatMulOp, "MoeExpertMatMul");
    OP(MoeCombineOp, "MoeCombine");
#undef OP
    return t;
  }();
  return table;
}

/// JSON has no NaN or infinity; they are spelled as strings.
Json floatJson(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  return v;
}

class Exporter {
public:
  explicit Exporter(func::FuncOp func) : func(func) {}

  LogicalResult run(ModuleOp module, Json &doc);

private:
  FailureOr<Json> tensorJson(ElementsAttr attr, Operation *op);
  FailureOr<Json> attrJson(Attribute attr, Operation *op, StringRef name);
  Json shardingJson(ArrayAttr sharding);
  std::string unique(StringRef preferred);
  void nameResults(Operation *op);
  FailureOr<Json> nodeJson(Operation *op);

  func::FuncOp func;
  DenseMap<Value, std::string> names;
  llvm::StringSet<> used;
  unsigned counter = 0;
  /// Name wanted for a returned value (the result's graph.name).
  DenseMap<Value, std::string> returnNames;
  Json shardings = Json::object();
};

std::string Exporter::unique(StringRef preferred) {
  if (!preferred.empty() && used.insert(preferred).second)
    return preferred.str();
  std::string n;
  do
    n = "t" + std::to_string(counter++);
  while (!used.insert(n).second);
  return n;
}

/// Tensor names come from locations: NameLoc for one named output, a
/// FusedLoc of NameLocs for several (listing only the outputs that were
/// named, so they go to the used results in order).
void Exporter::nameResults(Operation *op) {
  SmallVector<StringRef> locNames;
  Location loc = op->getLoc();
  if (auto n = dyn_cast<NameLoc>(loc))
    locNames.push_back(n.getName().getValue());
  else if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations())
      if (auto n = dyn_cast<NameLoc>(l))
        locNames.push_back(n.getName().getValue());
  bool byIndex = locNames.size() == op->getNumResults();
  size_t next = 0;
  for (OpResult r : op->getResults()) {
    StringRef want;
    if (byIndex)
      want = locNames[r.getResultNumber()];
    else if (next < locNames.size() && !r.use_empty())
      want = locNames[next++];
    auto it = returnNames.find(r);
    if (it != returnNames.end() && !used.contains(it->second))
      want = it->second;
    names[r] = unique(want);
  }
}

FailureOr<Json> Exporter::tensorJson(ElementsAttr attr, Operation *op) {
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  auto type = cast<ShapedType>(attr.getType());
  std::string dtype = jsonTypeName(type.getElementType());
  if (!dense || dtype.empty())
    return op->emitError() << "cannot export constant of type " << attr.getType()
                           << " (dense tensors of " << "f16, bf16, f32, f64, "
                           << "i1, i8-i64, u8-u64 only)";
  Json t = Json::object();
  t["dtype"] = dtype;
  t["shape"] = Json(type.getShape().vec());
  Type elt = type.getElementType();
  Json data = Json::array();
  if (isa<FloatType>(elt)) {
    for (APFloat f : dense.getValues<APFloat>()) {
      data.push_back(floatJson(f.convertToDouble()));
      if (dense.isSplat())
        break;
    }
  } else if (elt.isInteger(1)) {
    for (bool b : dense.getValues<bool>()) {
      data.push_back(b);
      if (dense.isSplat())
        break;
    }
  } else {
    for (APInt x : dense.getValues<APInt>()) {
      if (elt.isUnsignedInteger())
        data.push_back(x.getZExtValue());
      else
        data.push_back(x.getSExtValue());
      if (dense.isSplat())
        break;
    }
  }
  if (dense.isSplat() && type.getNumElements() != 1)
    t["fill"] = data[0];
  else
    t["data"] = std::move(data);
  return t;
}

FailureOr<Json> Exporter::attrJson(Attribute attr, Operation *op,
                                   StringRef name) {
  if (auto b = dyn_cast<BoolAttr>(attr))
    return Json(b.getValue() ? 1 : 0);
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return Json(i.getValue().getSExtValue());
  if (auto f = dyn_cast<FloatAttr>(attr))
    return floatJson(f.getValueAsDouble());
  if (auto a = dyn_cast<DenseI64ArrayAttr>(attr))
    return Json(a.asArrayRef().vec());
  if (auto s = dyn_cast<StringAttr>(attr))
    return Json(s.str());
  if (auto t = dyn_cast<TypeAttr>(attr)) {
    if (int dt = onnxDataType(t.getValue()))
      return Json(dt);
  } else if (auto m = dyn_cast<PadModeAttr>(attr)) {
    return Json(stringifyPadMode(m.getValue()).str());
  } else if (auto r = dyn_cast<ScatterReductionAttr>(attr)) {
    return Json(stringifyScatterReduction(r.getValue()).str());
  } else if (auto e = dyn_cast<ElementsAttr>(attr)) {
    return tensorJson(e, op);
  }
  return op->emitError() << "cannot export attribute '" << name << "' = "
                         << attr << " to JSON";
}

Json Exporter::shardingJson(ArrayAttr sharding) {
  Json dims = Json::array();
  for (Attribute d : sharding) {
    auto axes = dyn_cast<ArrayAttr>(d);
    if (!axes || axes.empty()) {
      dims.push_back(nullptr);
      continue;
    }
    Json list = Json::array();
    for (Attribute a : axes)
      if (auto s = dyn_cast<StringAttr>(a))
        list.push_back(s.str());
    dims.push_back(list.size() == 1 ? list[0] : list);
  }
  return dims;
}

FailureOr<Json> Exporter::nodeJson(Operation *op) {
  auto it = opTypeTable().find(op->getName().getStringRef());
  if (it == opTypeTable().end())
    return op->emitError() << "'" << op->getName()
                           << "' has no JSON spelling (export a module of "
                              "graph dialect ops only)";
  Json node = Json::object();
  node["op"] = it->second;
  Json inputs = Json::array();
  for (Value v : op->getOperands())
    inputs.push_back(names.lookup(v));
  Json outputs = Json::array();
  for (Value v : op->getResults())
    outputs.push_back(names[v]);
  Json attrs = Json::object();
  for (NamedAttribute a : op->getAttrs()) {
    StringRef name = a.getName().getValue();
    if (name == "graph.sharding") {
      if (auto s = dyn_cast<ArrayAttr>(a.getValue()); s && op->getNumResults() == 1)
        shardings[names[op->getResult(0)]] = shardingJson(s);
      continue;
    }
    if (name.contains('.'))
      continue; // other discardable attributes have no JSON spelling
    auto v = attrJson(a.getValue(), op, name);
    if (failed(v))
      return failure();
    attrs[name.str()] = std::move(*v);
  }
  // Where the dialect's normalized form differs from what the ONNX handler
  // reads back.
  if (auto slice = dyn_cast<SliceOp>(op)) {
    // A negative step's end of -1 means "past index 0"; ONNX reads -1 as
    // the last index, so write a value it clamps to before the start.
    Json ends = Json::array();
    for (auto [e, s] : llvm::zip(slice.getEnds(), slice.getSteps()))
      ends.push_back(s < 0 && e < 0 ? std::numeric_limits<int64_t>::min() + 1 : e);
    attrs["ends"] = ends;
    std::vector<int64_t> axes(slice.getStarts().size());
    std::iota(axes.begin(), axes.end(), 0);
    attrs["axes"] = axes;
  } else if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    if (llvm::is_contained(reshape.getShape(), 0))
      attrs["allowzero"] = 1; // 0 would otherwise copy the input dimension
  } else if (isa<OneHotOp>(op)) {
    // ONNX inputs are (indices, depth, values); depth is an attribute here.
    inputs = Json::array({inputs[0], nullptr, inputs[1]});
  }
  node["inputs"] = std::move(inputs);
  node["outputs"] = std::move(outputs);
  if (!attrs.empty())
    node["attrs"] = std::move(attrs);
  return node;
}

LogicalResult Exporter::run(ModuleOp module, Json &doc) {
  Block &body = func.front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands()))
    if (auto n = func.getResultAttrOfType<StringAttr>(i, "graph.name"))
      returnNames.try_emplace(v, n.str());

  doc["format"] = kJsonFormatName;
  doc["version"] = kJsonFormatVersion;
  if (auto name = module.getName())
    doc["name"] = name->str();
  doc["opset"] = 17;
  if (auto mesh = module->getAttrOfType<ArrayAttr>("graph.mesh")) {
    Json m = Json::object();
    for (auto axis : mesh.getAsRange<ArrayAttr>())
      if (axis.size() == 2 && isa<StringAttr>(axis[0]) && isa<IntegerAttr>(axis[1]))
        m[cast<StringAttr>(axis[0]).str()] = cast<IntegerAttr>(axis[1]).getInt();
    doc["mesh"] = m;
  }

  Json inputs = Json::array();
  for (BlockArgument arg : body.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto name = func.getArgAttrOfType<StringAttr>(i, "graph.name");
    names[arg] = unique(name ? name.getValue() : "arg" + std::to_string(i));
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    std::string dtype = type ? jsonTypeName(type.getElementType()) : "";
    if (dtype.empty() || !type.hasStaticShape())
      return emitError(arg.getLoc())
             << "argument #" << i << " has type " << arg.getType()
             << "; only statically shaped tensors can be exported";
    Json in = Json::object();
    in["name"] = names[arg];
    in["dtype"] = dtype;
    in["shape"] = type.getShape().vec();
    if (auto s = func.getArgAttrOfType<ArrayAttr>(i, "graph.sharding"))
      in["sharding"] = shardingJson(s);
    inputs.push_back(in);
  }
  doc["inputs"] = inputs;

  // The constants before the first computation are the parameters; later
  // ones (folded by the importer) stay Constant nodes so that re-importing
  // keeps the op order.
  Json params = Json::array(), nodes = Json::array();
  bool leading = true;
  for (Operation &op : body.without_terminator()) {
    nameResults(&op);
    auto constant = dyn_cast<ConstantOp>(op);
    leading &= (bool)constant;
    if (leading) {
      auto t = tensorJson(constant.getValue(), &op);
      if (failed(t))
        return failure();
      Json p = Json::object();
      p["name"] = names[constant.getResult()];
      for (auto it = t->begin(); it != t->end(); ++it)
        p[it.key()] = it.value();
      params.push_back(std::move(p));
      if (auto s = op.getAttrOfType<ArrayAttr>("graph.sharding"))
        shardings[names[constant.getResult()]] = shardingJson(s);
      continue;
    }
    auto node = nodeJson(&op);
    if (failed(node))
      return failure();
    nodes.push_back(std::move(*node));
  }

  Json outputs = Json::array();
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    std::string name = names.lookup(v);
    auto want = func.getResultAttrOfType<StringAttr>(i, "graph.name");
    if (want && want.getValue() != name && !used.contains(want.getValue())) {
      // A returned input or a value returned twice: rename via Identity.
      std::string alias = unique(want.getValue());
      nodes.push_back(Json{{"op", "Identity"},
                           {"inputs", Json::array({name})},
                           {"outputs", Json::array({alias})}});
      name = alias;
    }
    if (auto s = func.getResultAttrOfType<ArrayAttr>(i, "graph.sharding"))
      outputs.push_back(Json{{"name", name}, {"sharding", shardingJson(s)}});
    else
      outputs.push_back(name);
  }
  doc["parameters"] = std::move(params);
  doc["nodes"] = std::move(nodes);
  doc["outputs"] = std::move(outputs);
  if (!shardings.empty())
    doc["shardings"] = shardings;
  return success();
}

/// One top-level key per line and one list entry (input, parameter, node)
/// per line: readable and diffable without spreading weights over lines.
void write(const Json &doc, llvm::raw_ostream &os) {
  os << "{";
  bool firstKey = true;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    os << (firstKey ? "\n  " : ",\n  ") << Json(it.key()).dump() << ": ";
    firstKey = false;
    if (!it->is_array() || it->empty()) {
      os << it->dump();
      continue;
    }
    os << "[";
    for (size_t i = 0; i < it->size(); ++i)
      os << (i ? ",\n    " : "\n    ") << (*it)[i].dump();
    os << "\n  ]";
  }
  os << "\n}\n";
}

} // namespace
} // namespace partita::import

namespace partita {

LogicalResult exportJson(ModuleOp module, llvm::raw_ostream &os) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || func.isExternal())
    return emitError(module.getLoc()) << "no function @main to export";
  import::Json doc = import::Json::object();
  import::Exporter exporter(func);
  if (failed(exporter.run(module, doc)))
    return failure();
  import::write(doc, os);
  return success();
}

} // namespace partita
