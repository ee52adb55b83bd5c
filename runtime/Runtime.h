//===- Runtime.h - the process-wide communicator behind the C ABI -*- C++ -*-===//

#ifndef PARTITA_RUNTIME_RUNTIME_H
#define PARTITA_RUNTIME_RUNTIME_H

#include "runtime/Communicator.h"

namespace partita::runtime {

/// The communicator the C ABI (CollectivesABI.h) uses; replaces any previous.
void setGlobalCommunicator(std::unique_ptr<Communicator> c);
Communicator *globalCommunicator();

} // namespace partita::runtime

#endif // PARTITA_RUNTIME_RUNTIME_H
