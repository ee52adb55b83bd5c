//===- GraphDriver.cpp - builds @main from an abstract graph --------------===//

#include "GraphDriver.h"
#include "OpImporters.h"
#include "RoutedExperts.h"

#include "dialects/Graph/IR/GraphOps.h"
#include "partita/Import/Importer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <queue>

using namespace mlir;

namespace partita::import {

Location fileLocation(MLIRContext &ctx, StringRef source) {
  return FileLineColLoc::get(&ctx, source, 0, 0);
}

Location nodeLocation(MLIRContext &ctx, StringRef source, size_t index,
                      ArrayRef<std::string> outputs, StringRef nodeName) {
  Location file = FileLineColLoc::get(&ctx, source, index + 1, 0);
  SmallVector<Location> names;
  for (const std::string &o : outputs)
    if (!o.empty())
      names.push_back(NameLoc::get(StringAttr::get(&ctx, o), file));
  if (names.empty())
    return NameLoc::get(StringAttr::get(&ctx, nodeName), file);
  if (names.size() == 1)
    return names.front();
  return FusedLoc::get(&ctx, names);
}

namespace {

/// Suggests the supported op closest in spelling to `op`.
std::string closestOp(StringRef op) {
  std::string best;
  // Short names need close matches: "Gelu" may mean "Elu", "Shrink" not "Sin".
  unsigned bestDist = std::max<unsigned>(2, op.size() / 3 + 1);
  for (const std::string &cand : supportedOnnxOps()) {
    unsigned d = StringRef(cand).edit_distance_insensitive(op);
    if (d < bestDist) {
      bestDist = d;
      best = cand;
    }
  }
  return best;
}

/// Kahn's algorithm over tensor names. Reports a value that nothing defines
/// (dangling) or, when every value is defined but nodes remain, a cycle.
/// Always taking the ready node listed first keeps an already sorted graph
/// (ONNX requires it; JSON exports are) in its own order, so that an
/// exported module re-imports op for op.
LogicalResult orderNodes(MLIRContext &ctx, GraphDesc &g,
                         std::vector<size_t> &order) {
  Location fileLoc = fileLocation(ctx, g.source);
  llvm::StringMap<size_t> producer;
  llvm::StringSet<> available;
  for (auto &in : g.inputs)
    if (!available.insert(in.name).second)
      return emitError(fileLoc) << "graph input '" << in.name
                                << "' is declared twice";
  for (auto &c : g.constants)
    available.insert(c.name); // initializers may shadow inputs (old IRs)
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string &o : g.nodes[i]->outputs()) {
      if (o.empty())
        continue;
      if (available.contains(o) || !producer.try_emplace(o, i).second)
        return emitError(nodeLocation(ctx, g.source, g.sourcePosition(i), g.nodes[i]->outputs(),
                                      g.nodes[i]->name()))
               << "value '" << o << "' is defined more than once";
    }
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string &in : g.nodes[i]->inputs())
      if (!in.empty() && !available.contains(in) && !producer.count(in))
        return emitError(nodeLocation(ctx, g.source, g.sourcePosition(i), g.nodes[i]->outputs(),
                                      g.nodes[i]->name()))
               << "dangling value: '" << in << "' used by "
               << g.nodes[i]->opType() << " node '" << g.nodes[i]->name()
               << "' is not a graph input, an initializer or a node output";
  for (const std::string &o : g.outputs)
    if (!available.contains(o) && !producer.count(o))
      return emitError(fileLoc) << "graph output '" << o << "' is never defined";

  // pending[i] = number of inputs of node i not yet available.
  std::vector<size_t> pending(g.nodes.size(), 0);
  llvm::StringMap<std::vector<size_t>> consumers;
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string &in : g.nodes[i]->inputs())
      if (!in.empty() && !available.contains(in)) {
        ++pending[i];
        consumers[in].push_back(i);
      }
    if (pending[i] == 0)
      ready.push(i);
  }
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (const std::string &o : g.nodes[i]->outputs()) {
      auto it = consumers.find(o);
      if (o.empty() || it == consumers.end())
        continue;
      for (size_t c : it->second)
        if (--pending[c] == 0)
          ready.push(c);
    }
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (pending[i] != 0)
        return emitError(nodeLocation(ctx, g.source, g.sourcePosition(i), g.nodes[i]->outputs(),
                                      g.nodes[i]->name()))
               << "the graph has a cycle through " << g.nodes[i]->opType()
               << " node '" << g.nodes[i]->name() << "'";
  }
  return success();
}

} // namespace

OwningOpRef<ModuleOp> buildModule(MLIRContext &ctx, GraphDesc &g) {
  ctx.loadDialect<graph::GraphDialect, func::FuncDialect>();
  Location fileLoc = fileLocation(ctx, g.source);
  std::vector<size_t> order;
  if (failed(orderNodes(ctx, g, order)))
    return nullptr;
  size_t nodesBefore = g.nodes.size();
  if (failed(rewriteRoutedExperts(ctx, g, order)))
    return nullptr;
  if (g.nodes.size() != nodesBefore || !g.nodeSource.empty()) {
    order.clear();
    if (failed(orderNodes(ctx, g, order)))
      return nullptr;
  }

  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  for (NamedAttribute a : g.moduleAttrs)
    (*module)->setAttr(a.getName(), a.getValue());
  b.setInsertionPointToEnd(module->getBody());

  // Inputs that are also initializers are constants (pre-IR-4 models list
  // every initializer as an input).
  llvm::StringSet<> initializerNames;
  for (auto &c : g.constants)
    initializerNames.insert(c.name);
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  SmallVector<std::string> argNames;
  for (auto &in : g.inputs)
    if (!initializerNames.contains(in.name)) {
      argTypes.push_back(in.type);
      argLocs.push_back(NameLoc::get(b.getStringAttr(in.name), fileLoc));
      argNames.push_back(in.name);
    }
  auto func = func::FuncOp::create(b, fileLoc, "main",
                                   b.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  llvm::StringMap<Value> values;
  for (auto [i, name] : llvm::enumerate(argNames)) {
    body->getArgument(i).setLoc(argLocs[i]);
    values[name] = body->getArgument(i);
    func.setArgAttr(i, "graph.name", b.getStringAttr(name));
    auto it = g.tensorAttrs.find(name);
    if (it != g.tensorAttrs.end())
      for (NamedAttribute a : it->second)
        func.setArgAttr(i, a.getName(), a.getValue());
  }
  import::NodeContext::Specializations specs;
  for (auto [i, name] : llvm::enumerate(argNames)) {
    auto it = g.inputValues.find(name);
    if (it != g.inputValues.end() && it->second.getType() == argTypes[i])
      specs.available[body->getArgument(i)] = it->second;
  }
  b.setInsertionPointToEnd(body);
  for (auto &c : g.constants) {
    Location loc = NameLoc::get(b.getStringAttr(c.name), fileLoc);
    values[c.name] =
        graph::ConstantOp::create(b, loc, c.value.getType(), c.value);
  }

  // Which tensors are consumed (for handlers that must reject used outputs).
  for (size_t idx : order) {
    NodeView &node = *g.nodes[idx];
    Location loc = nodeLocation(ctx, g.source, g.sourcePosition(idx), node.outputs(),
                                node.name());
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      emitError(loc) << "unsupported op '" << node.opType() << "' from domain '"
                     << node.domain() << "' in node '" << node.name()
                     << "': only the default ONNX domain is supported";
      return nullptr;
    }
    OpHandler handler = lookupOpHandler(node.opType());
    if (!handler) {
      auto diag = emitError(loc);
      diag << "unsupported op '" << node.opType() << "' (opset " << g.opset << ") in ";
      if (node.name().empty())
        diag << "an unnamed node";
      else
        diag << "node '" << node.name() << "'";
      std::string near = closestOp(node.opType());
      if (!near.empty())
        diag << "; did you mean '" << near << "'?";
      diag << " (`partita ops` lists the " << supportedOnnxOps().size()
           << " supported ops)";
      return nullptr;
    }
    SmallVector<Value> ins;
    for (const std::string &in : node.inputs())
      ins.push_back(in.empty() ? Value() : values.lookup(in));
    NodeContext nc(b, node, ins, loc, g.opset, &specs);
    nc.foldFloats = g.foldFloats;
    if (failed(handler(nc)))
      return nullptr;
    for (auto [i, out] : llvm::enumerate(node.outputs())) {
      if (out.empty())
        continue;
      if (i >= nc.results.size() || !nc.results[i]) {
        emitError(loc) << node.opType() << " node '" << node.name()
                       << "': output #" << i << " ('" << out
                       << "') is not supported";
        return nullptr;
      }
      values[out] = nc.results[i];
    }
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const std::string &o : g.outputs) {
    Value v = values.lookup(o);
    auto it = g.declared.find(o);
    if (it != g.declared.end() && it->second != v.getType()) {
      emitError(v.getLoc()) << "mismatched shapes: output '" << o
                            << "' is declared as " << it->second
                            << " but the graph computes " << v.getType();
      return nullptr;
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  func::ReturnOp::create(b, fileLoc, results);
  for (Value v : specs.used) {
    unsigned i = cast<BlockArgument>(v).getArgNumber();
    func.setArgAttr(i, "graph.specialized", specs.available[v]);
  }
  func.setType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, o] : llvm::enumerate(g.outputs)) {
    func.setResultAttr(i, "graph.name", b.getStringAttr(o));
    auto it = g.tensorAttrs.find(o);
    if (it != g.tensorAttrs.end())
      for (NamedAttribute a : it->second)
        func.setResultAttr(i, a.getName(), a.getValue());
  }
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace partita::import
