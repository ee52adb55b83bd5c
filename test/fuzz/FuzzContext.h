//===- FuzzContext.h - the shared context of the importer fuzzers -*- C++ -*-===//
//
// One MLIRContext per fuzzer process with every Partita dialect loaded and
// all diagnostics swallowed: rejecting malformed input is the normal case.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TEST_FUZZ_FUZZCONTEXT_H
#define PARTITA_TEST_FUZZ_FUZZCONTEXT_H

#include "partita/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

namespace partita::fuzz {

inline mlir::MLIRContext &context() {
  static mlir::MLIRContext *ctx = [] {
    mlir::DialectRegistry registry;
    partita::registerAllDialects(registry);
    auto *c = new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
    return c;
  }();
  return *ctx;
}

} // namespace partita::fuzz

#endif // PARTITA_TEST_FUZZ_FUZZCONTEXT_H
