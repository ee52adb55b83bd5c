//===- RuntimeHostAllocatorTest.cpp - reuse of large host temporaries -----===//

#include "partita/Runtime/HostAllocator.h"

#include <gtest/gtest.h>

using namespace partita;

namespace {

constexpr size_t MiB = size_t(1) << 20;

// A freed large block comes back for the next allocation of its size.
TEST(RuntimeHostAllocator, ReusesAFreedBlockOfTheSameSize) {
  releaseHostAllocatorCache();
  HostAllocatorStats before = hostAllocatorStats();
  void *a = partita_malloc(33 * MiB);
  ASSERT_NE(a, nullptr);
  static_cast<char *>(a)[33 * MiB - 1] = 1;
  partita_free(a);
  void *b = partita_malloc(33 * MiB);
  EXPECT_EQ(a, b);
  HostAllocatorStats after = hostAllocatorStats();
  EXPECT_EQ(after.hits - before.hits, 1);
  EXPECT_EQ(after.misses - before.misses, 1);
  partita_free(b);
  releaseHostAllocatorCache();
  EXPECT_EQ(hostAllocatorStats().cachedBytes, 0);
}

// In use plus kept never exceeds the most ever in use at once: a miss
// releases kept blocks first.
TEST(RuntimeHostAllocator, KeptBytesStayUnderThePeak) {
  releaseHostAllocatorCache();
  int64_t base = hostAllocatorStats().liveBytes;
  void *a = partita_malloc(8 * MiB);
  partita_free(a);
  void *b = partita_malloc(6 * MiB); // a miss: kept blocks go if they would pass the peak
  HostAllocatorStats s = hostAllocatorStats();
  EXPECT_LE(s.liveBytes + s.cachedBytes, s.peakBytes);
  EXPECT_EQ(s.liveBytes - base, (int64_t)(6 * MiB));
  partita_free(b);
  void *c = partita_malloc(6 * MiB);
  EXPECT_EQ(b, c);
  partita_free(c);
  s = hostAllocatorStats();
  EXPECT_LE(s.liveBytes + s.cachedBytes, s.peakBytes);
  releaseHostAllocatorCache();
}

// Small blocks and aligned blocks behave like malloc/aligned_alloc.
TEST(RuntimeHostAllocator, SmallAndAlignedBlocks) {
  HostAllocatorStats before = hostAllocatorStats();
  void *small = partita_malloc(4096);
  ASSERT_NE(small, nullptr);
  partita_free(small);
  EXPECT_EQ(hostAllocatorStats().misses, before.misses);
  void *aligned = partita_aligned_alloc(256, 3 * MiB + 1);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 256, 0u);
  partita_free(aligned);
  partita_free(nullptr);
  releaseHostAllocatorCache();
}

} // namespace
