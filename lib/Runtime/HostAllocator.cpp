//===- HostAllocator.cpp - large host temporaries reused across steps ----===//
//
// include/partita/Runtime/HostAllocator.h has the policy.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/HostAllocator.h"

#include <cstdlib>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace partita {
namespace {

/// aligned_alloc wants a multiple of the alignment.
void *alignedAlloc(size_t alignment, size_t bytes) {
  return std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
}

struct Cache {
  std::mutex mutex;
  /// Large blocks in use: pointer -> size.
  std::unordered_map<void *, size_t> live;
  /// Kept blocks, oldest first.
  std::list<std::pair<size_t, void *>> kept;
  HostAllocatorStats stats;

  /// Releases kept blocks, oldest first, until `bytes` more fit under the
  /// peak (which a new block may raise).
  void makeRoom(size_t bytes) {
    int64_t limit = std::max(stats.peakBytes, stats.liveBytes + (int64_t)bytes);
    while (!kept.empty() && stats.liveBytes + stats.cachedBytes + (int64_t)bytes > limit) {
      auto [size, ptr] = kept.front();
      kept.pop_front();
      stats.cachedBytes -= size;
      std::free(ptr);
    }
  }

  void *allocate(size_t bytes, size_t alignment) {
    std::lock_guard<std::mutex> lock(mutex);
    void *ptr = nullptr;
    for (auto it = kept.begin(); it != kept.end(); ++it)
      if (it->first == bytes && reinterpret_cast<uintptr_t>(it->second) % alignment == 0) {
        ptr = it->second;
        kept.erase(it);
        stats.cachedBytes -= bytes;
        ++stats.hits;
        break;
      }
    if (!ptr) {
      makeRoom(bytes);
      ptr = alignment > alignof(std::max_align_t) ? alignedAlloc(alignment, bytes)
                                                  : std::malloc(bytes);
      if (!ptr)
        return nullptr;
      ++stats.misses;
    }
    live[ptr] = bytes;
    stats.liveBytes += bytes;
    stats.peakBytes = std::max(stats.peakBytes, stats.liveBytes);
    return ptr;
  }

  /// False when `ptr` is not a large block of ours.
  bool release(void *ptr) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = live.find(ptr);
    if (it == live.end())
      return false;
    size_t bytes = it->second;
    live.erase(it);
    stats.liveBytes -= bytes;
    kept.push_back({bytes, ptr});
    stats.cachedBytes += bytes;
    return true;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto &[size, ptr] : kept)
      std::free(ptr);
    kept.clear();
    stats.cachedBytes = 0;
  }
};

Cache &cache() {
  static Cache *c = new Cache(); // never destroyed: compiled code may free at exit
  return *c;
}

/// PARTITA_REUSE_BLOCKS=0 turns the reuse off (plain malloc/free).
bool reuseBlocks() {
  static bool on = [] {
    const char *v = std::getenv("PARTITA_REUSE_BLOCKS");
    return !(v && std::string(v) == "0");
  }();
  return on;
}

} // namespace

HostAllocatorStats hostAllocatorStats() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().stats;
}

void releaseHostAllocatorCache() { cache().clear(); }

} // namespace partita

extern "C" void *partita_malloc(size_t bytes) {
  if (bytes < partita::kCachedBlockBytes || !partita::reuseBlocks())
    return std::malloc(bytes);
  return partita::cache().allocate(bytes, alignof(std::max_align_t));
}

extern "C" void *partita_aligned_alloc(size_t alignment, size_t bytes) {
  if (bytes < partita::kCachedBlockBytes || !partita::reuseBlocks())
    return partita::alignedAlloc(alignment, bytes);
  return partita::cache().allocate(bytes, alignment);
}

extern "C" void partita_free(void *ptr) {
  if (ptr && !partita::cache().release(ptr))
    std::free(ptr);
}
