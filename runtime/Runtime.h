//===- Runtime.h - the process-wide communicator behind the C ABI -*- C++ -*-===//

#ifndef PARTITA_RUNTIME_RUNTIME_H
#define PARTITA_RUNTIME_RUNTIME_H

#include "runtime/Communicator.h"

namespace partita::runtime {

/// The communicator the C ABI (CollectivesABI.h) uses; replaces any previous.
void setGlobalCommunicator(std::unique_ptr<Communicator> c);
Communicator *globalCommunicator();

/// Marks a collective in progress for the fault handling of CollectivesABI.cpp
/// (numbering, fault injection, the watchdog's timeout, crash messages).
/// `kind` must outlive the scope (a string literal).
class CollectiveScope {
public:
  CollectiveScope(const char *kind, int group);
  ~CollectiveScope();
  CollectiveScope(const CollectiveScope &) = delete;
  CollectiveScope &operator=(const CollectiveScope &) = delete;

private:
  int64_t startNs; ///< adds the scope's wall time to the rank's collective time
};

} // namespace partita::runtime

#endif // PARTITA_RUNTIME_RUNTIME_H
