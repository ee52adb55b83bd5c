//===- Naming.cpp - what tensor names say about a model -------------------===//

#include "partita/Support/Naming.h"

#include "llvm/ADT/STLExtras.h"

#include <cctype>

namespace partita {

std::string layerOf(llvm::StringRef name) {
  // First component that is all digits, preceded by at least one component.
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find_first_of("./", start);
    llvm::StringRef comp = name.slice(start, dot == llvm::StringRef::npos ? name.size() : dot);
    if (start > 0 && !comp.empty() && llvm::all_of(comp, [](char c) { return std::isdigit(c); }))
      return name.substr(0, start + comp.size()).str();
    if (dot == llvm::StringRef::npos)
      break;
    start = dot + 1;
  }
  return "other";
}

} // namespace partita
