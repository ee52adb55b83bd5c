//===- HostAllocator.h - large host temporaries reused across steps -*- C++ -*-===//
//
// Compiled code allocates its temporaries with malloc and frees them after
// their last use. glibc maps every block of 32 MiB or more afresh (its mmap
// threshold cannot go higher), so a step that allocates such a block pays a
// page fault per 4 KiB of it, every step (row max, subtract, exp and row
// sum over 8x1024x2048 f32 with its 64 MiB temporary: 36 ms per run with
// the faults, 9.4 ms without; docs/runtime.md).
//
// The CPU executor therefore resolves the JIT code's malloc/free to these
// functions. Blocks of at least kCachedBlockBytes that are freed are kept
// and handed back to the next allocation of the same size; the bytes kept
// plus the bytes in use never exceed the most ever in use at once (a miss
// releases kept blocks first, oldest first), so the process's peak is what
// it was without the cache. Smaller blocks go straight to malloc/free.
// PARTITA_REUSE_BLOCKS=0 sends every block there.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_HOSTALLOCATOR_H
#define PARTITA_RUNTIME_HOSTALLOCATOR_H

#include <cstddef>
#include <cstdint>

namespace partita {

constexpr size_t kCachedBlockBytes = size_t(1) << 20;

struct HostAllocatorStats {
  int64_t hits = 0, misses = 0;    ///< large allocations served from / not from the cache
  int64_t liveBytes = 0;           ///< large blocks in use
  int64_t cachedBytes = 0;         ///< large blocks kept for reuse
  int64_t peakBytes = 0;           ///< the most large-block bytes ever in use at once
};

HostAllocatorStats hostAllocatorStats();
/// Releases every kept block (tests; a long-lived process between models).
void releaseHostAllocatorCache();

} // namespace partita

extern "C" {
void *partita_malloc(size_t bytes);
void partita_free(void *ptr);
void *partita_aligned_alloc(size_t alignment, size_t bytes);
}

#endif // PARTITA_RUNTIME_HOSTALLOCATOR_H
