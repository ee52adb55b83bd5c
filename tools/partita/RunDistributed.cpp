//===- RunDistributed.cpp - `partita run --mesh ...` ------------------------===//
//
// Glue only: the logic is in lib/Distributed (partita/Distributed/Distributed.h).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Runtime/Driver.h"
#ifdef PARTITA_HAVE_DISTRIBUTED
#include "partita/Distributed/Distributed.h"
#endif

#include "llvm/Support/raw_ostream.h"

namespace partita::tools {

int runDistributed(mlir::MLIRContext &ctx, llvm::StringRef input, const RunOptions &run,
                   llvm::StringRef mesh, llvm::StringRef shardings, double collectiveTimeout,
                   llvm::StringRef report, const ModelLoader &load) {
#ifdef PARTITA_HAVE_DISTRIBUTED
  DistributedOptions opts;
  opts.run = run;
  opts.mesh = mesh.str();
  opts.shardingsFile = shardings.str();
  opts.collectiveTimeout = collectiveTimeout;
  opts.reportFile = report.str();
  return runDistributedCommand(ctx, input, opts, load);
#else
  llvm::errs() << "partita: error: run --mesh needs the MPI runtime, which this build "
                  "does not have (install libopenmpi-dev openmpi-bin and reconfigure)\n";
  return 1;
#endif
}

} // namespace partita::tools
