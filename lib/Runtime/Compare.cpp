//===- Compare.cpp - compare outputs with expected values -----------------===//

#include "partita/Runtime/Compare.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace partita {

Tolerance defaultTolerance(DType t) {
  switch (t) {
  // ONNX backend tests compare f32 with rtol 1e-3, atol 1e-7; a bit tighter
  // relative and looser absolute here keeps values near zero (e.g. sin(pi))
  // from failing on the last ulp while still catching real errors.
  case DType::F32: return {1e-4, 1e-5};
  case DType::F64: return {1e-7, 1e-9};
  // 11 and 8 significand bits: a few ulps of relative error.
  case DType::F16: return {1e-2, 1e-3};
  case DType::BF16: return {2e-2, 1e-2};
  default: return {0, 0};
  }
}

std::string Comparison::describeFirst(const HostTensor &got,
                                      const HostTensor &want) const {
  if (firstMismatch < 0)
    return "";
  std::string s;
  llvm::raw_string_ostream os(s);
  // Unflatten the index.
  std::vector<int64_t> idx(got.shape.size());
  int64_t rest = firstMismatch;
  for (int i = (int)idx.size() - 1; i >= 0; --i) {
    idx[i] = got.shape[i] ? rest % got.shape[i] : 0;
    rest = got.shape[i] ? rest / got.shape[i] : 0;
  }
  os << "first at [";
  llvm::interleaveComma(idx, os);
  os << "]: got ";
  if (isFloat(got.dtype))
    os << llvm::format("%g", got.getDouble(firstMismatch)) << ", expected "
       << llvm::format("%g", want.getDouble(firstMismatch));
  else if (got.dtype == DType::U64)
    os << (uint64_t)got.getInt(firstMismatch) << ", expected "
       << (uint64_t)want.getInt(firstMismatch);
  else
    os << got.getInt(firstMismatch) << ", expected " << want.getInt(firstMismatch);
  return s;
}

Comparison compareTensors(const HostTensor &got, const HostTensor &want,
                          Tolerance tol) {
  Comparison c;
  if (got.dtype != want.dtype) {
    c.structuralError = ("dtype " + dtypeName(got.dtype) + " differs from the expected " +
                         dtypeName(want.dtype)).str();
    return c;
  }
  if (got.shape != want.shape) {
    c.structuralError = "shape " + shapeString(got.shape) +
                        " differs from the expected " + shapeString(want.shape);
    return c;
  }
  int64_t n = got.numElements();
  auto fail = [&](int64_t i) {
    if (c.mismatches++ == 0)
      c.firstMismatch = i;
  };
  if (!isFloat(got.dtype)) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t a = got.getInt(i), b = want.getInt(i);
      if (a == b)
        continue;
      fail(i);
      // |a - b| without overflow, as a double.
      double abs = std::fabs((double)a - (double)b);
      c.maxAbsErr = std::max(c.maxAbsErr, abs);
      if (b)
        c.maxRelErr = std::max(c.maxRelErr, abs / std::fabs((double)b));
    }
    c.ok = c.mismatches == 0;
    return c;
  }
  for (int64_t i = 0; i < n; ++i) {
    double a = got.getDouble(i), b = want.getDouble(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b))
        fail(i);
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) {
        fail(i);
        c.maxAbsErr = INFINITY;
        c.maxRelErr = INFINITY;
      }
      continue;
    }
    double abs = std::fabs(a - b);
    c.maxAbsErr = std::max(c.maxAbsErr, abs);
    // Relative error is taken where the expected value is nonzero only: an
    // exact zero expected makes any rounding difference "infinitely" off.
    if (b != 0)
      c.maxRelErr = std::max(c.maxRelErr, abs / std::fabs(b));
    if (abs > tol.atol + tol.rtol * std::fabs(b))
      fail(i);
  }
  c.ok = c.mismatches == 0;
  return c;
}

} // namespace partita
