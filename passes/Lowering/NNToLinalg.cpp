//===- NNToLinalg.cpp ---------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {

void populateNNPatterns(TypeConverter &tc, RewritePatternSet &p) {}

} // namespace partita::lowering
