//===- ShardingAttrs.cpp - mesh and tensor sharding attributes ------------===//
//
// Syntax (close to Shardy's):
//   #sharding.mesh<["data"=2, "model"=4]>
//   #sharding.tensor<@mesh, [{"data"}, {"model", ?}, {}],
//                    replicated={"x"}, unreduced={"y"}, priority=0>
// `?` marks an open dimension; the trailing clauses are optional.
//
//===----------------------------------------------------------------------===//

#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace partita::sharding {

//===----------------------------------------------------------------------===//
// MeshAttr
//===----------------------------------------------------------------------===//

LogicalResult MeshAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               ArrayRef<StringAttr> names, ArrayRef<int64_t> sizes) {
  if (names.size() != sizes.size())
    return emitError() << "mesh has " << names.size() << " axis names but "
                       << sizes.size() << " sizes";
  llvm::StringSet<> seen;
  for (auto [name, size] : llvm::zip(names, sizes)) {
    if (name.getValue().empty())
      return emitError() << "mesh axis names must be non-empty";
    if (!seen.insert(name.getValue()).second)
      return emitError() << "duplicate axis name: \"" << name.getValue() << "\"";
    if (size <= 0)
      return emitError() << "mesh axis \"" << name.getValue()
                         << "\" must have a positive size, got " << size;
  }
  return success();
}

std::optional<int64_t> MeshAttr::getAxisSize(StringRef name) const {
  for (auto [n, s] : llvm::zip(getNames(), getSizes()))
    if (n.getValue() == name)
      return s;
  return std::nullopt;
}

int64_t MeshAttr::getNumDevices() const {
  int64_t n = 1;
  for (int64_t s : getSizes())
    n *= s;
  return n;
}

Attribute MeshAttr::parse(AsmParser &p, Type) {
  SmallVector<StringAttr> names;
  SmallVector<int64_t> sizes;
  auto parseAxis = [&]() -> ParseResult {
    std::string name;
    int64_t size;
    if (p.parseString(&name) || p.parseEqual() || p.parseInteger(size))
      return failure();
    names.push_back(StringAttr::get(p.getContext(), name));
    sizes.push_back(size);
    return success();
  };
  if (p.parseLess() ||
      p.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseAxis) ||
      p.parseGreater())
    return {};
  return getChecked([&] { return p.emitError(p.getNameLoc()); }, p.getContext(),
                    names, sizes);
}

void MeshAttr::print(AsmPrinter &p) const {
  p << "<[";
  llvm::interleaveComma(llvm::zip(getNames(), getSizes()), p, [&](auto axis) {
    p << "\"" << std::get<0>(axis).getValue() << "\"=" << std::get<1>(axis);
  });
  p << "]>";
}

//===----------------------------------------------------------------------===//
// DimShardingAttr
//===----------------------------------------------------------------------===//

namespace {

/// Parses `{"a", "b", ?}`; `?` (open) must come last.
ParseResult parseDimBody(AsmParser &p, SmallVectorImpl<StringAttr> &axes,
                         bool &closed) {
  closed = true;
  return p.parseCommaSeparatedList(AsmParser::Delimiter::Braces, [&]() -> ParseResult {
    if (!closed)
      return p.emitError(p.getCurrentLocation(), "'?' must be the last entry");
    if (succeeded(p.parseOptionalQuestion())) {
      closed = false;
      return success();
    }
    std::string axis;
    if (p.parseString(&axis))
      return failure();
    axes.push_back(StringAttr::get(p.getContext(), axis));
    return success();
  });
}

void printAxes(AsmPrinter &p, ArrayRef<StringAttr> axes, bool open) {
  p << "{";
  llvm::interleaveComma(axes, p, [&](StringAttr a) { p << "\"" << a.getValue() << "\""; });
  if (open)
    p << (axes.empty() ? "?" : ", ?");
  p << "}";
}

ParseResult parseAxisSet(AsmParser &p, SmallVectorImpl<StringAttr> &axes) {
  bool closed;
  if (parseDimBody(p, axes, closed))
    return failure();
  if (!closed)
    return p.emitError(p.getCurrentLocation(), "'?' is not allowed here");
  return success();
}

} // namespace

Attribute DimShardingAttr::parse(AsmParser &p, Type) {
  SmallVector<StringAttr> axes;
  bool closed;
  if (p.parseLess() || parseDimBody(p, axes, closed) || p.parseGreater())
    return {};
  return get(p.getContext(), axes, closed);
}

void DimShardingAttr::print(AsmPrinter &p) const {
  p << "<";
  printAxes(p, getAxes(), !getClosed());
  p << ">";
}

//===----------------------------------------------------------------------===//
// TensorShardingAttr
//===----------------------------------------------------------------------===//

Attribute TensorShardingAttr::parse(AsmParser &p, Type) {
  FlatSymbolRefAttr mesh;
  SmallVector<DimShardingAttr> dims;
  SmallVector<StringAttr> replicated, unreduced;
  int64_t priority = -1;
  Attribute meshAttr;
  if (p.parseLess() || p.parseAttribute(meshAttr) || p.parseComma())
    return {};
  mesh = dyn_cast<FlatSymbolRefAttr>(meshAttr);
  if (!mesh) {
    p.emitError(p.getNameLoc(), "expected a mesh symbol such as @mesh");
    return {};
  }
  auto parseDim = [&]() -> ParseResult {
    SmallVector<StringAttr> axes;
    bool closed;
    if (parseDimBody(p, axes, closed))
      return failure();
    dims.push_back(DimShardingAttr::get(p.getContext(), axes, closed));
    return success();
  };
  if (p.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseDim))
    return {};
  while (succeeded(p.parseOptionalComma())) {
    StringRef key;
    if (p.parseKeyword(&key) || p.parseEqual())
      return {};
    if (key == "replicated") {
      if (parseAxisSet(p, replicated))
        return {};
    } else if (key == "unreduced") {
      if (parseAxisSet(p, unreduced))
        return {};
    } else if (key == "priority") {
      if (p.parseInteger(priority))
        return {};
      if (priority < 0) {
        p.emitError(p.getCurrentLocation(), "priority must be non-negative");
        return {};
      }
    } else {
      p.emitError(p.getCurrentLocation(), "unknown clause '")
          << key << "' (expected replicated, unreduced or priority)";
      return {};
    }
  }
  if (p.parseGreater())
    return {};
  return get(p.getContext(), mesh, dims, replicated, unreduced, priority);
}

void TensorShardingAttr::print(AsmPrinter &p) const {
  p << "<" << getMesh() << ", [";
  llvm::interleaveComma(getDims(), p, [&](DimShardingAttr d) {
    printAxes(p, d.getAxes(), !d.getClosed());
  });
  p << "]";
  if (!getReplicated().empty()) {
    p << ", replicated=";
    printAxes(p, getReplicated(), false);
  }
  if (!getUnreduced().empty()) {
    p << ", unreduced=";
    printAxes(p, getUnreduced(), false);
  }
  if (hasPriority())
    p << ", priority=" << getPriority();
  p << ">";
}

SmallVector<StringAttr> TensorShardingAttr::getUsedAxes() const {
  SmallVector<StringAttr> axes;
  for (DimShardingAttr d : getDims())
    axes.append(d.getAxes().begin(), d.getAxes().end());
  axes.append(getUnreduced().begin(), getUnreduced().end());
  return axes;
}

std::string formatSharding(TensorShardingAttr s) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "[";
  llvm::interleaveComma(s.getDims(), os, [&](DimShardingAttr d) {
    os << "{";
    llvm::interleaveComma(d.getAxes(), os, [&](StringAttr a) { os << a.getValue(); });
    if (!d.getClosed())
      os << (d.getAxes().empty() ? "?" : ", ?");
    os << "}";
  });
  os << "]";
  if (!s.getUnreduced().empty()) {
    os << " unreduced{";
    llvm::interleaveComma(s.getUnreduced(), os, [&](StringAttr a) { os << a.getValue(); });
    os << "}";
  }
  return out;
}

TensorShardingAttr getOpenSharding(MLIRContext *ctx, FlatSymbolRefAttr mesh,
                                   int64_t rank) {
  SmallVector<DimShardingAttr> dims(rank, DimShardingAttr::get(ctx, {}, false));
  return TensorShardingAttr::get(ctx, mesh, dims, {}, {}, -1);
}

} // namespace partita::sharding

#define GET_ATTRDEF_CLASSES
#include "dialects/Sharding/IR/ShardingAttrs.cpp.inc"

using namespace partita::sharding;

// Registration lives here: it needs the attribute storage classes, which the
// generated definitions above make complete.
void ShardingDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Sharding/IR/ShardingAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Sharding/IR/ShardingOps.cpp.inc"
      >();
}

