//===- CollectivesABI.cpp - the C entry points of compiled modules ---------===//
//
// One process-wide communicator (this process is one rank). Any failure is
// fatal: one line on stderr naming the rank and the collective, then
// MPI_Abort through the communicator's world, so no rank hangs waiting.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/CollectivesABI.h"
#include "runtime/Runtime.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace partita::runtime;

namespace {
std::unique_ptr<Communicator> &global() {
  static std::unique_ptr<Communicator> c;
  return c;
}

[[noreturn]] void die(const char *what, const std::string &cause) {
  int rank = global() ? global()->rank() : -1;
  std::fprintf(stderr, "partita: error: rank %d: %s: %s\n", rank, what, cause.c_str());
  std::fflush(stderr);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized)
    MPI_Abort(MPI_COMM_WORLD, 1);
  std::exit(1);
}

Communicator &comm(const char *what) {
  if (!global())
    die(what, "the collectives runtime is not initialized (partita_runtime_init)");
  return *global();
}

DType dtype(const char *what, int32_t t) {
  if (!isValidDType(t))
    die(what, "unknown element type " + std::to_string(t));
  return (DType)t;
}

void check(const char *what, bool ok) {
  if (!ok)
    die(what, global()->error());
}
} // namespace

namespace partita::runtime {
void setGlobalCommunicator(std::unique_ptr<Communicator> c) { global() = std::move(c); }
Communicator *globalCommunicator() { return global().get(); }
} // namespace partita::runtime

extern "C" {

void partita_all_reduce(const void *in, void *out, int64_t count, int32_t t, int32_t reduction,
                        int32_t group) {
  const char *w = "all_reduce";
  check(w, comm(w).allReduceRaw(in, out, count, dtype(w, t), (ReduceOp)reduction, group));
}

void partita_all_gather(const void *in, void *out, int64_t outer, int64_t inner, int32_t t,
                        int32_t group) {
  const char *w = "all_gather";
  check(w, comm(w).allGatherRaw(in, out, outer, inner, dtype(w, t), group));
}

void partita_reduce_scatter(const void *in, void *out, int64_t outer, int64_t inner, int32_t t,
                            int32_t reduction, int32_t group) {
  const char *w = "reduce_scatter";
  check(w, comm(w).reduceScatterRaw(in, out, outer, inner, dtype(w, t), (ReduceOp)reduction,
                                    group));
}

void partita_all_to_all(const void *in, void *out, int64_t splitOuter, int64_t splitInner,
                        int64_t concatOuter, int64_t concatInner, int32_t t, int32_t group) {
  const char *w = "all_to_all";
  check(w, comm(w).allToAllRaw(in, out, splitOuter, splitInner, concatOuter, concatInner,
                               dtype(w, t), group));
}

void partita_collective_permute(const void *in, void *out, int64_t count, int64_t shift,
                                int32_t t, int32_t group) {
  const char *w = "collective_permute";
  check(w, comm(w).collectivePermuteRaw(in, out, count, shift, dtype(w, t), group));
}

void partita_barrier(int32_t group) {
  const char *w = "barrier";
  check(w, comm(w).barrier(group));
}

int64_t partita_group_position(int32_t group) {
  Communicator &c = comm("axis_index");
  if (!c.validGroup(group))
    die("axis_index", "unknown group " + std::to_string(group));
  return c.groupPosition(group);
}

int64_t partita_group_size(int32_t group) {
  Communicator &c = comm("axis_index");
  if (!c.validGroup(group))
    die("axis_index", "unknown group " + std::to_string(group));
  return c.groupSize(group);
}

int partita_runtime_init(const int64_t *meshSizes, int32_t meshRank, char *error,
                         int64_t errorSize) {
  std::string err;
  std::vector<int64_t> mesh(meshSizes, meshSizes + meshRank);
  auto c = createMPICommunicator(mesh, err);
  if (!c) {
    if (error && errorSize > 0)
      std::snprintf(error, (size_t)errorSize, "%s", err.c_str());
    return 1;
  }
  global() = std::move(c);
  return 0;
}

int32_t partita_runtime_add_group(const int32_t *axes, int32_t numAxes) {
  const char *w = "group";
  int id = comm(w).addGroup(std::vector<int>(axes, axes + numAxes));
  if (id < 0)
    die(w, global()->error());
  return id;
}

int32_t partita_runtime_rank(void) { return global() ? global()->rank() : 0; }

void partita_runtime_shutdown(void) { global().reset(); }

} // extern "C"
