//===- ParallelRuntime.cpp - the thread pool behind partita_parallel_for --===//
//
// See include/partita/Runtime/Parallel.h. Execution is sequential: a nest
// runs on the pool, then a GEMM on OpenBLAS's threads, then the next nest.
// The pool's workers therefore spin only briefly after a range (the next
// nest usually follows within microseconds) and then sleep on a condition
// variable, so two spinning pools never fight over the same cores; OpenBLAS
// is told to let its own threads sleep soon after a GEMM for the same reason
// (ContractionRuntime.cpp, OPENBLAS_THREAD_TIMEOUT).
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Parallel.h"
#include "partita/Runtime/Contraction.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PARTITA_PAUSE() _mm_pause()
#else
#define PARTITA_PAUSE() std::this_thread::yield()
#endif

namespace partita {

namespace {
/// More chunks than threads, so a thread that lost its core for a while
/// (the machine is shared) does not hold up the others for a whole share.
constexpr int64_t kChunksPerThread = 4;

thread_local bool insideTask = false;
} // namespace

ThreadPool::ThreadPool(int numThreads, int spin) : spinMicros(spin) {
  for (int i = 1; i < numThreads; ++i)
    workers.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stop = true;
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
}

void ThreadPool::runChunks(uint64_t gen) {
  bool wasInside = insideTask;
  insideTask = true;
  for (;;) {
    uint64_t s = state.load(std::memory_order_acquire);
    if ((s >> 32) != gen)
      break;
    int64_t chunk = int64_t(s & 0xffffffffu);
    // Relaxed: this generation's job cannot change before its chunks are
    // done, and a stale read only matters if the CAS below fails anyway.
    int64_t chunks = numChunks.load(std::memory_order_relaxed);
    if (chunk >= chunks)
      break;
    if (!state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel))
      continue;
    int64_t n = size.load(std::memory_order_relaxed);
    int64_t first = begin.load(std::memory_order_relaxed);
    int64_t lo = first + n * chunk / chunks, hi = first + n * (chunk + 1) / chunks;
    fn.load(std::memory_order_relaxed)(ctx.load(std::memory_order_relaxed), lo, hi);
    done.fetch_add(1, std::memory_order_acq_rel);
  }
  insideTask = wasInside;
}

void ThreadPool::work() {
  uint64_t seen = 0;
  for (;;) {
    auto spinUntil = std::chrono::steady_clock::now() + std::chrono::microseconds(spinMicros);
    unsigned polls = 0;
    while ((state.load(std::memory_order_acquire) >> 32) == seen) {
      if ((++polls & 63) != 0 || std::chrono::steady_clock::now() < spinUntil) {
        PARTITA_PAUSE();
        continue;
      }
      std::unique_lock<std::mutex> lock(mutex);
      ++sleepers;
      wake.wait(lock, [&] {
        return stop || (state.load(std::memory_order_acquire) >> 32) != seen;
      });
      --sleepers;
      if (stop)
        return;
    }
    seen = state.load(std::memory_order_acquire) >> 32;
    runChunks(seen);
  }
}

void ThreadPool::parallelFor(Task task, void *context, int64_t first, int64_t end) {
  int64_t n = end - first;
  if (n <= 0)
    return;
  if (workers.empty() || n == 1 || insideTask) {
    task(context, first, end);
    return;
  }
  int64_t chunks = std::min<int64_t>(n, kChunksPerThread * numThreads());
  fn.store(task, std::memory_order_relaxed);
  ctx.store(context, std::memory_order_relaxed);
  begin.store(first, std::memory_order_relaxed);
  size.store(n, std::memory_order_relaxed);
  numChunks.store(chunks, std::memory_order_relaxed);
  done.store(0, std::memory_order_relaxed);
  uint64_t gen = (state.load(std::memory_order_relaxed) >> 32) + 1;
  bool notify;
  {
    // Under the lock: a worker about to sleep either sees the new
    // generation in its wait predicate or is already waiting.
    std::lock_guard<std::mutex> lock(mutex);
    state.store(gen << 32, std::memory_order_release);
    notify = sleepers > 0;
  }
  if (notify)
    wake.notify_all();
  runChunks(gen);
  while (done.load(std::memory_order_acquire) < chunks)
    PARTITA_PAUSE();
}

ThreadPool &defaultThreadPool() {
  static ThreadPool pool(partita_configured_num_threads());
  return pool;
}

} // namespace partita

extern "C" void partita_parallel_for(void (*fn)(void *, int64_t, int64_t), void *ctx,
                                     int64_t begin, int64_t end) {
  partita::defaultThreadPool().parallelFor(fn, ctx, begin, end);
}
