//===- RuntimeThreadPoolTest.cpp - the loop-nest thread pool --------------===//

#include "partita/Runtime/Parallel.h"

#include "gtest/gtest.h"

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

using namespace partita;

namespace {

/// Marks every index it is given; a second visit is an error.
struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::atomic<int> calls{0};
  explicit Coverage(int64_t n) : hits(n) {}
  static void task(void *ctx, int64_t lo, int64_t hi) {
    auto *self = static_cast<Coverage *>(ctx);
    self->calls.fetch_add(1);
    for (int64_t i = lo; i < hi; ++i)
      self->hits[i].fetch_add(1);
  }
  void expectEachOnce(int64_t begin, int64_t end) {
    for (int64_t i = 0; i < (int64_t)hits.size(); ++i)
      ASSERT_EQ(hits[i].load(), (i >= begin && i < end) ? 1 : 0) << "index " << i;
  }
};

TEST(RuntimeThreadPool, EveryIndexRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.numThreads(), threads);
    for (auto [begin, end] : std::vector<std::pair<int64_t, int64_t>>{
             {0, 1}, {0, 2}, {0, 7}, {3, 100}, {0, 1000}, {5, 5}, {9, 4}}) {
      Coverage c(1000);
      pool.parallelFor(&Coverage::task, &c, begin, end);
      c.expectEachOnce(begin, end);
      if (end <= begin) {
        EXPECT_EQ(c.calls.load(), 0);
      }
    }
  }
}

TEST(RuntimeThreadPool, BackToBackRangesReuseTheWorkers) {
  // Many short ranges in a row: every generation's chunks run once, none
  // leaks into the next (a worker late for one range must not run it).
  ThreadPool pool(4);
  Coverage c(64);
  for (int round = 0; round < 2000; ++round)
    pool.parallelFor(&Coverage::task, &c, 0, 64);
  for (auto &h : c.hits)
    ASSERT_EQ(h.load(), 2000);
}

/// Each chunk waits (with a deadline) until two different threads have
/// entered: only a pool that runs chunks concurrently gets there.
struct Rendezvous {
  std::atomic<int> arrived{0};
  std::atomic<bool> met{false};
  std::mutex mutex;
  std::set<std::thread::id> ids;
  static void task(void *ctx, int64_t, int64_t) {
    auto *self = static_cast<Rendezvous *>(ctx);
    {
      std::lock_guard<std::mutex> lock(self->mutex);
      self->ids.insert(std::this_thread::get_id());
      if (self->ids.size() >= 2)
        self->met = true;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!self->met && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
  }
};

TEST(RuntimeThreadPool, ChunksRunConcurrently) {
  ThreadPool pool(2, /*spinMicros=*/0); // workers asleep: the wake-up path
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Rendezvous r;
  pool.parallelFor(&Rendezvous::task, &r, 0, 2);
  EXPECT_TRUE(r.met.load());
  EXPECT_EQ(r.ids.size(), 2u);
}

TEST(RuntimeThreadPool, OneThreadRunsInline) {
  ThreadPool pool(1);
  std::thread::id seen;
  struct Ctx {
    std::thread::id *seen;
    int calls = 0;
  } ctx{&seen};
  pool.parallelFor(
      [](void *p, int64_t lo, int64_t hi) {
        auto *c = static_cast<Ctx *>(p);
        *c->seen = std::this_thread::get_id();
        ++c->calls;
        EXPECT_EQ(lo, 0);
        EXPECT_EQ(hi, 100);
      },
      &ctx, 0, 100);
  EXPECT_EQ(ctx.calls, 1);
  EXPECT_EQ(seen, std::this_thread::get_id());
}

TEST(RuntimeThreadPool, NestedRangesRunOnTheCallingThread) {
  ThreadPool pool(2);
  struct Ctx {
    ThreadPool *pool;
    std::atomic<int> innerCalls{0};
    Coverage cover{16 * 16};
  } ctx{&pool};
  pool.parallelFor(
      [](void *p, int64_t lo, int64_t hi) {
        auto *c = static_cast<Ctx *>(p);
        for (int64_t row = lo; row < hi; ++row) {
          struct Inner {
            Ctx *outer;
            int64_t row;
          } inner{c, row};
          c->pool->parallelFor(
              [](void *q, int64_t l, int64_t h) {
                auto *in = static_cast<Inner *>(q);
                in->outer->innerCalls.fetch_add(1);
                Coverage::task(&in->outer->cover, in->row * 16 + l, in->row * 16 + h);
              },
              &inner, 0, 16);
        }
      },
      &ctx, 0, 16);
  ctx.cover.expectEachOnce(0, 16 * 16);
  EXPECT_EQ(ctx.innerCalls.load(), 16); // one serial call per row
}

TEST(RuntimeThreadPool, CAbiUsesTheConfiguredThreadCount) {
  EXPECT_GE(defaultThreadPool().numThreads(), 1);
  Coverage c(300);
  partita_parallel_for(&Coverage::task, &c, 0, 300);
  c.expectEachOnce(0, 300);
}

} // namespace
