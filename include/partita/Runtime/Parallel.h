//===- Parallel.h - loop nests split across the runtime's threads -*- C++ -*-===//
//
// The CPU backend runs GEMMs through OpenBLAS's threads and every other loop
// nest (elementwise chains, softmax, layer norm, transposes) through its own
// thread pool:
//
//  - partita-parallelize-loop-nests (lib/Target/CPU/ParallelizeLoopNests.cpp), after
//    partita-outline-loop-nests: an outlined linalg nest with enough
//    iterations gets two trailing index arguments [lo, hi) that bound one of
//    its parallel loops; its calls pass the whole range;
//  - partita-parallel-calls (lib/Target/CPU/ParallelCalls.cpp), on the LLVM dialect: each
//    such call becomes partita_parallel_for(task, ctx, lo, hi), with the
//    other arguments packed into a struct in the caller's frame;
//  - ParallelRuntime.cpp: partita_parallel_for runs chunks of [lo, hi) on
//    partita_configured_num_threads() threads (the caller is one of them).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_PARALLEL_H
#define PARTITA_RUNTIME_PARALLEL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace partita {

/// Nests with fewer iterations in total stay serial (a dispatch costs a few
/// microseconds, as much as ~10^4 elementwise iterations).
constexpr int64_t kDefaultParallelMinIterations = 32768;

/// A fixed set of threads that run one range at a time. The calling thread
/// takes chunks too, so `numThreads` counts it: a pool of 1 has no workers
/// and runs everything inline. Between ranges a worker spins for `spinMicros`
/// (back-to-back nests reuse it at once), then sleeps, so it does not hold
/// a core that OpenBLAS's threads need during a GEMM.
class ThreadPool {
public:
  using Task = void (*)(void *ctx, int64_t lo, int64_t hi);
  explicit ThreadPool(int numThreads, int spinMicros = 50);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Runs fn(ctx, lo, hi) over disjoint sub-ranges covering [begin, end);
  /// returns when all are done. Serial when called from inside a task.
  void parallelFor(Task fn, void *ctx, int64_t begin, int64_t end);
  int numThreads() const { return (int)workers.size() + 1; }

private:
  void work();
  /// Claims and runs chunks of generation `gen` until none are left.
  void runChunks(uint64_t gen);

  std::vector<std::thread> workers;
  int spinMicros;
  // (generation << 32) | next chunk: a worker claims a chunk of the
  // generation it saw, or nothing once the dispatcher moved on.
  std::atomic<uint64_t> state{0};
  std::atomic<int64_t> done{0};
  // The job of the current generation (written before it is published).
  std::atomic<Task> fn{nullptr};
  std::atomic<void *> ctx{nullptr};
  std::atomic<int64_t> begin{0}, size{0}, numChunks{0};
  std::mutex mutex;
  std::condition_variable wake;
  int sleepers = 0; // guarded by mutex
  bool stop = false; // guarded by mutex
};

/// The process's pool: partita_configured_num_threads() threads.
ThreadPool &defaultThreadPool();

} // namespace partita

extern "C" {
/// fn(ctx, lo, hi) over disjoint sub-ranges of [begin, end) on the default pool.
void partita_parallel_for(void (*fn)(void *, int64_t, int64_t), void *ctx, int64_t begin,
                          int64_t end);
}

#endif
