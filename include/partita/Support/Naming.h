//===- Naming.h - what tensor names say about a model ------------*- C++ -*-===//

#ifndef PARTITA_SUPPORT_NAMING_H
#define PARTITA_SUPPORT_NAMING_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace partita {

/// The layer group of a tensor name: the prefix up to and including the
/// first `.<digits>` component ("layers.0.attn.q" → "layers.0"; components
/// are separated by '.' or '/', as in torch.onnx.export's node names), else
/// "other". The planner ties repeated layers by it; recomputation works per
/// layer.
std::string layerOf(llvm::StringRef name);

} // namespace partita

#endif // PARTITA_SUPPORT_NAMING_H
