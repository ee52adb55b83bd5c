//===- Diagnostics.cpp - one-line diagnostics for the tools ---------------===//

#include "partita/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace partita {

std::string describeLocation(Location loc) {
  std::string out;
  llvm::raw_string_ostream os(out);
  // Importers locate nodes as NameLoc(tensor, FileLineColLoc(file, node#, 0)).
  auto fileOf = [](Location l) -> FileLineColLoc {
    if (auto n = dyn_cast<NameLoc>(l))
      return dyn_cast<FileLineColLoc>(n.getChildLoc());
    return dyn_cast<FileLineColLoc>(l);
  };
  SmallVector<Location> parts;
  if (auto fused = dyn_cast<FusedLoc>(loc))
    parts.append(fused.getLocations().begin(), fused.getLocations().end());
  else
    parts.push_back(loc);
  FileLineColLoc file = fileOf(parts.front());
  if (!file) {
    loc.print(os);
    return out;
  }
  os << file.getFilename().getValue();
  bool isNode = file.getColumn() == 0;
  if (file.getLine() > 0)
    os << (isNode ? ": node " : ":") << file.getLine();
  if (!isNode)
    os << ":" << file.getColumn();
  SmallVector<StringRef> names;
  for (Location p : parts)
    if (auto n = dyn_cast<NameLoc>(p))
      names.push_back(n.getName().getValue());
  if (!names.empty()) {
    os << " (";
    llvm::interleaveComma(names, os);
    os << ")";
  }
  return out;
}

OneLineDiagnostics::OneLineDiagnostics(MLIRContext &ctx, bool verbose) : ctx(ctx) {
  id = ctx.getDiagEngine().registerHandler([this, verbose](Diagnostic &d) {
    const char *kind = d.getSeverity() == DiagnosticSeverity::Error     ? "error"
                       : d.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                       : d.getSeverity() == DiagnosticSeverity::Remark  ? "remark"
                                                                        : "note";
    std::string msg = d.str();
    // Keep it on one line.
    for (char &c : msg)
      if (c == '\n')
        c = ' ';
    llvm::errs() << describeLocation(d.getLocation()) << ": " << kind << ": "
                 << msg << "\n";
    if (verbose)
      for (Diagnostic &note : d.getNotes())
        llvm::errs() << describeLocation(note.getLocation())
                     << ": note: " << note.str() << "\n";
    if (d.getSeverity() == DiagnosticSeverity::Error && errors++ == 0)
      first = msg;
    return success();
  });
}

OneLineDiagnostics::~OneLineDiagnostics() { ctx.getDiagEngine().eraseHandler(id); }

} // namespace partita
