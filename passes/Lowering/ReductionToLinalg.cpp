//===- ReductionToLinalg.cpp ---------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {

void populateReductionPatterns(TypeConverter &tc, RewritePatternSet &p) {}

} // namespace partita::lowering
