//===- partita-opt.cpp - the Partita pass driver --------------------------===//
//
// MlirOptMain over every Partita dialect and pass plus the upstream passes
// that Partita's pipelines use.
//
//===----------------------------------------------------------------------===//

#include "partita/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  partita::registerAllDialects(registry);
  partita::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Partita pass driver\n", registry));
}
