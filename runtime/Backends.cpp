//===- Backends.cpp - backends this build leaves out ------------------------===//
//
// A disabled backend compiles away: its library is an empty INTERFACE target
// and its factory here reports, in one line, why it is not available.
//
//===----------------------------------------------------------------------===//

#include "runtime/Communicator.h"

namespace partita::runtime {

#ifndef PARTITA_HAVE_NCCL
bool ncclBackendBuilt() { return false; }

std::unique_ptr<Communicator> createNCCLCommunicator(const std::vector<int64_t> &,
                                                     std::string &error) {
  error = "this build has no NCCL backend (CUDA and NCCL were not found at configure time)";
  return nullptr;
}
#endif

} // namespace partita::runtime
