//===- CollectivesABI.cpp - the C entry points of compiled modules ---------===//
//
// One process-wide communicator (this process is one rank). Any failure is
// fatal: one line on stderr naming the rank and the collective, then
// MPI_Abort through the communicator's world, so no rank hangs waiting.
//
// Faults (docs/runtime.md, "Faults"): every collective is numbered (#1, #2,
// ... per rank, in program order) and runs inside a CollectiveScope. A
// watchdog thread stops the rank when one collective takes longer than the
// timeout (PARTITA_COLLECTIVE_TIMEOUT seconds, default 30, 0 = none);
// handlers for fatal signals and an atexit hook name the rank and the
// collective it was in. Every such line goes to stderr, or, when
// PARTITA_FAULT_REPORT names a file (set by `partita run --mesh`, which
// prints the lines itself once mpirun returns), is appended to that file.
// The rank then ends without MPI_Finalize, and mpirun stops the others.
// PARTITA_FAULT_INJECT=rank:K,collective:M[,mode:abort|exit|segv|hang]
// makes rank K fail on entering its M-th collective (a debug option).
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/CollectivesABI.h"
#include "runtime/Runtime.h"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace partita::runtime;

namespace {
std::unique_ptr<Communicator> &global() {
  static std::unique_ptr<Communicator> c;
  return c;
}

//===--- fault state (read by signal handlers: plain atomics, no locks) ---===//

std::atomic<int> gRank{-1};
std::atomic<int64_t> gCount{0};          ///< collectives entered so far
std::atomic<const char *> gKind{nullptr}; ///< the collective in progress, or null
std::atomic<int> gGroup{-1};
std::atomic<int64_t> gStartMs{0};
std::atomic<int64_t> gTimeoutMs{30000};
std::atomic<bool> gRunning{false}; ///< between init and shutdown
std::atomic<bool> gReported{false};
std::atomic<int64_t> gCollectiveNs{0}; ///< wall time inside collectives
char gReportPath[1024];            ///< PARTITA_FAULT_REPORT, or empty

/// The progress board (PARTITA_PROGRESS_FILE, created by `partita run
/// --mesh`): one slot per rank in a shared mapping, so a rank whose
/// collective times out can name the rank that never arrived.
struct Progress {
  std::atomic<int64_t> entered;   ///< number of the last collective entered
  std::atomic<int64_t> completed; ///< number of the last collective completed
};
static_assert(std::atomic<int64_t>::is_always_lock_free, "shared across processes");
Progress *gBoard = nullptr;
int gBoardRanks = 0;
int gInjectRank = -1;
int64_t gInjectAt = -1;
char gInjectMode[16] = "abort";

int64_t nowNs() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Async-signal-safe formatting into a fixed buffer.
struct Line {
  char buf[512];
  size_t n = 0;
  Line &operator<<(const char *s) {
    while (s && *s && n + 1 < sizeof buf)
      buf[n++] = *s++;
    return *this;
  }
  Line &operator<<(int64_t v) {
    char tmp[24];
    int k = 0;
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do {
      tmp[k++] = (char)('0' + u % 10);
      u /= 10;
    } while (u);
    if (neg && n + 1 < sizeof buf)
      buf[n++] = '-';
    while (k && n + 1 < sizeof buf)
      buf[n++] = tmp[--k];
    return *this;
  }
};

/// "collective #3 (all_reduce, group 1)" or "no collective (2 completed)".
void describeCollective(Line &l) {
  const char *kind = gKind.load();
  int64_t count = gCount.load();
  if (kind) {
    l << "collective #" << count << " (" << kind;
    if (gGroup.load() >= 0)
      l << ", group " << (int64_t)gGroup.load();
    l << ")";
  } else {
    l << "no collective (after " << count << " completed)";
  }
}

/// Writes one fault line (once per process) to the report file or stderr.
void report(Line &l) {
  if (gReported.exchange(true))
    return;
  l << "\n";
  int fd = gReportPath[0] ? open(gReportPath, O_WRONLY | O_APPEND | O_CREAT, 0644) : -1;
  ssize_t unused;
  if (fd >= 0) {
    unused = write(fd, l.buf, l.n);
    close(fd);
  } else {
    unused = write(2, l.buf, l.n);
  }
  (void)unused;
}

const char *signalName(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGABRT: return "SIGABRT";
  }
  return "a fatal signal";
}

void onFatalSignal(int sig) {
  if (gRunning.load()) {
    Line l;
    l << "partita: error: rank " << (int64_t)gRank.load() << " failed (" << signalName(sig)
      << ") in ";
    describeCollective(l);
    report(l);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void onExit() {
  if (!gRunning.load())
    return;
  Line l;
  l << "partita: error: rank " << (int64_t)gRank.load() << " exited in ";
  describeCollective(l);
  l << " before the run finished";
  report(l);
  // Not MPI_Finalize (the communicator's destructor): it waits for the
  // other ranks, which wait in collectives for this one. mpirun stops them.
  _exit(1);
}

/// "rank 1 has not reached it (it completed collective #2 and is in none:
/// stuck in its own code)" for each rank behind this one
/// from the progress board; without one, the generic cause.
void describeLaggards(Line &l) {
  int me = gRank.load();
  int64_t mine = gCount.load();
  int named = 0;
  for (int r = 0; gBoard && r < gBoardRanks; ++r) {
    if (r == me)
      continue;
    int64_t entered = gBoard[r].entered.load(), completed = gBoard[r].completed.load();
    if (entered >= mine)
      continue;
    if (named++) {
      l << "; ";
    }
    l << "rank " << (int64_t)r << " has not reached it (";
    if (entered > completed)
      l << "it is in collective #" << entered << ")";
    else if (completed == 0)
      l << "it entered no collective: stuck in its own code)";
    else
      l << "it completed collective #" << completed << " and is in none: stuck in its own code)";
  }
  if (!named)
    l << "another rank of its group failed or is stuck";
}

void openProgressBoard(int rank) {
  const char *path = std::getenv("PARTITA_PROGRESS_FILE");
  if (!path || !*path)
    return;
  int fd = open(path, O_RDWR);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0)
      close(fd);
    return;
  }
  int ranks = (int)(st.st_size / sizeof(Progress));
  void *map = ranks > rank ? mmap(nullptr, ranks * sizeof(Progress), PROT_READ | PROT_WRITE,
                                  MAP_SHARED, fd, 0)
                           : MAP_FAILED;
  close(fd);
  if (map == MAP_FAILED)
    return;
  gBoard = static_cast<Progress *>(map);
  gBoardRanks = ranks;
}

void watchdog() {
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int64_t limit = gTimeoutMs.load();
    if (!gRunning.load() || !gKind.load() || limit <= 0)
      continue;
    int64_t start = gStartMs.load(), elapsed = nowMs() - start;
    if (elapsed <= limit)
      continue;
    Line l;
    l << "partita: error: rank " << (int64_t)gRank.load() << ": ";
    describeCollective(l);
    l << " timed out after " << elapsed / 1000 << "." << (elapsed % 1000) / 100
      << " s (--collective-timeout " << limit / 1000 << "."
      << (limit % 1000) / 100 << "): ";
    describeLaggards(l);
    report(l);
    gRunning = false; // no second line from atexit
    _exit(124);
  }
}

void parseFaultInjection() {
  const char *spec = std::getenv("PARTITA_FAULT_INJECT");
  if (!spec || !*spec)
    return;
  std::string s(spec);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t colon = item.find(':');
    std::string key = item.substr(0, colon),
                value = colon == std::string::npos ? "" : item.substr(colon + 1);
    if (key == "rank")
      gInjectRank = std::atoi(value.c_str());
    else if (key == "collective")
      gInjectAt = std::atoll(value.c_str());
    else if (key == "mode")
      std::snprintf(gInjectMode, sizeof gInjectMode, "%s", value.c_str());
    else if (!item.empty())
      std::fprintf(stderr, "partita: warning: PARTITA_FAULT_INJECT: unknown key '%s' "
                           "(expected rank:K,collective:M[,mode:abort|exit|segv|hang])\n",
                   key.c_str());
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
}

void injectFault(int64_t n, const char *kind) {
  std::fprintf(stderr, "partita: note: rank %d: PARTITA_FAULT_INJECT: %s at collective #%lld "
                       "(%s)\n",
               gRank.load(), gInjectMode, (long long)n, kind);
  std::fflush(stderr);
  if (!std::strcmp(gInjectMode, "exit"))
    std::exit(3);
  if (!std::strcmp(gInjectMode, "hang"))
    while (true)
      pause();
  if (!std::strcmp(gInjectMode, "segv"))
    std::raise(SIGSEGV);
  std::abort();
}

void startFaultHandling(int rank) {
  static bool started = false;
  gRank = rank;
  gCount = 0;
  gKind = nullptr;
  gReported = false;
  gRunning = true;
  gCollectiveNs = 0;
  if (started)
    return;
  started = true;
  if (const char *p = std::getenv("PARTITA_FAULT_REPORT"))
    std::snprintf(gReportPath, sizeof gReportPath, "%s", p);
  openProgressBoard(rank);
  if (const char *t = std::getenv("PARTITA_COLLECTIVE_TIMEOUT"))
    gTimeoutMs = (int64_t)(std::atof(t) * 1000);
  parseFaultInjection();
  // The communicator's static must be destroyed after onExit has run
  // (atexit order is the reverse of registration).
  (void)global();
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(sig, onFatalSignal);
  std::atexit(onExit);
  std::thread(watchdog).detach();
}

[[noreturn]] void die(const char *what, const std::string &cause) {
  int rank = global() ? global()->rank() : -1;
  {
    Line l;
    l << "partita: error: rank " << (int64_t)rank << ": " << what << ": " << cause.c_str();
    report(l);
    gRunning = false;
  }
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
CollectiveScope::CollectiveScope(const char *kind, int group) : startNs(nowNs()) {
  int64_t n = gCount.load() + 1;
  bool inject = gRunning.load() && gInjectAt == n && gInjectRank == gRank.load();
  // A hang is injected before the rank arrives: a rank stuck in its own code.
  if (inject && !std::strcmp(gInjectMode, "hang"))
    injectFault(n, kind);
  gCount = n;
  gGroup = group;
  gStartMs = nowMs();
  gKind = kind;
  int rank = gRank.load();
  if (gBoard && rank >= 0 && rank < gBoardRanks)
    gBoard[rank].entered = n;
  if (inject)
    injectFault(n, kind);
}
CollectiveScope::~CollectiveScope() {
  gKind = nullptr;
  gCollectiveNs += nowNs() - startNs;
  int rank = gRank.load();
  if (gBoard && rank >= 0 && rank < gBoardRanks)
    gBoard[rank].completed = gCount.load();
}

void setGlobalCommunicator(std::unique_ptr<Communicator> c) { global() = std::move(c); }
Communicator *globalCommunicator() { return global().get(); }
} // namespace partita::runtime

extern "C" {

void partita_all_reduce(const void *in, void *out, int64_t count, int32_t t, int32_t reduction,
                        int32_t group) {
  const char *w = "all_reduce";
  CollectiveScope scope(w, group);
  check(w, comm(w).allReduceRaw(in, out, count, dtype(w, t), (ReduceOp)reduction, group));
}

void partita_all_gather(const void *in, void *out, int64_t outer, int64_t inner, int32_t t,
                        int32_t group) {
  const char *w = "all_gather";
  CollectiveScope scope(w, group);
  check(w, comm(w).allGatherRaw(in, out, outer, inner, dtype(w, t), group));
}

void partita_reduce_scatter(const void *in, void *out, int64_t outer, int64_t inner, int32_t t,
                            int32_t reduction, int32_t group) {
  const char *w = "reduce_scatter";
  CollectiveScope scope(w, group);
  check(w, comm(w).reduceScatterRaw(in, out, outer, inner, dtype(w, t), (ReduceOp)reduction,
                                    group));
}

void partita_all_to_all(const void *in, void *out, int64_t splitOuter, int64_t splitInner,
                        int64_t concatOuter, int64_t concatInner, int32_t t, int32_t group) {
  const char *w = "all_to_all";
  CollectiveScope scope(w, group);
  check(w, comm(w).allToAllRaw(in, out, splitOuter, splitInner, concatOuter, concatInner,
                               dtype(w, t), group));
}

void partita_collective_permute(const void *in, void *out, int64_t count, int64_t shift,
                                int32_t t, int32_t group) {
  const char *w = "collective_permute";
  CollectiveScope scope(w, group);
  check(w, comm(w).collectivePermuteRaw(in, out, count, shift, dtype(w, t), group));
}

void partita_send(const void *in, int64_t count, int64_t shift, int32_t t, int32_t group) {
  const char *w = "send";
  CollectiveScope scope(w, group);
  check(w, comm(w).sendRaw(in, count, shift, dtype(w, t), group));
}

void partita_recv(void *out, int64_t count, int64_t shift, int32_t t, int32_t group) {
  const char *w = "recv";
  CollectiveScope scope(w, group);
  check(w, comm(w).recvRaw(out, count, shift, dtype(w, t), group));
}

void partita_barrier(int32_t group) {
  const char *w = "barrier";
  CollectiveScope scope(w, group);
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
  return partita_runtime_init_backend(meshSizes, meshRank, "mpi", error, errorSize);
}

int partita_runtime_init_backend(const int64_t *meshSizes, int32_t meshRank,
                                 const char *backend, char *error, int64_t errorSize) {
  std::string err;
  std::vector<int64_t> mesh(meshSizes, meshSizes + meshRank);
  std::unique_ptr<Communicator> c;
  if (!std::strcmp(backend, "nccl"))
    c = createNCCLCommunicator(mesh, err);
  else if (!std::strcmp(backend, "mpi"))
    c = createMPICommunicator(mesh, err);
  else
    err = std::string("unknown collectives backend '") + backend + "' (expected mpi or nccl)";
  if (!c) {
    if (error && errorSize > 0)
      std::snprintf(error, (size_t)errorSize, "%s", err.c_str());
    return 1;
  }
  startFaultHandling(c->rank());
  global() = std::move(c);
  return 0;
}

void partita_runtime_set_collective_timeout(double seconds) {
  gTimeoutMs = (int64_t)(seconds * 1000);
}

int32_t partita_runtime_add_group(const int32_t *axes, int32_t numAxes) {
  const char *w = "group";
  int id = comm(w).addGroup(std::vector<int>(axes, axes + numAxes));
  if (id < 0)
    die(w, global()->error());
  return id;
}

double partita_runtime_collective_seconds(void) { return (double)gCollectiveNs.load() * 1e-9; }

int32_t partita_runtime_rank(void) { return global() ? global()->rank() : 0; }

void partita_runtime_shutdown(void) {
  gRunning = false;
  global().reset();
}

} // extern "C"
