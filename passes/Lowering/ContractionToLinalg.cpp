//===- ContractionToLinalg.cpp ---------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {

void populateContractionPatterns(TypeConverter &tc, RewritePatternSet &p) {}

} // namespace partita::lowering
