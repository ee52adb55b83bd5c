//===- Compare.h - compare outputs with expected values ---------*- C++ -*-===//
//
// An element matches when |got - want| <= atol + rtol * |want| (numpy's
// isclose), with NaN matching NaN and infinities matching only themselves.
// Integers and booleans must be equal.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_COMPARE_H
#define PARTITA_RUNTIME_COMPARE_H

#include "partita/Runtime/Tensor.h"

#include <string>

namespace partita {

struct Tolerance {
  double rtol = 0, atol = 0;
};

/// The default tolerance per dtype (docs/runtime.md has the table).
Tolerance defaultTolerance(DType t);

struct Comparison {
  bool ok = false;
  double maxAbsErr = 0, maxRelErr = 0;
  int64_t mismatches = 0;
  int64_t firstMismatch = -1; ///< flat index
  /// Set when shapes or dtypes differ (nothing else is compared then).
  std::string structuralError;
  std::string describeFirst(const HostTensor &got, const HostTensor &want) const;
};

Comparison compareTensors(const HostTensor &got, const HostTensor &want,
                          Tolerance tol);

} // namespace partita

#endif // PARTITA_RUNTIME_COMPARE_H
