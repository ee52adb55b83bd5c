//===- ConstantStorage.cpp - where graph.constant data lives --------------===//

#include "dialects/Graph/IR/ConstantStorage.h"

#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"

#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;

namespace partita::graph {

//===----------------------------------------------------------------------===//
// File mappings
//===----------------------------------------------------------------------===//

namespace {
/// The live mappings, by start address: releasePages only touches these.
std::mutex mappingsMutex;
std::map<const char *, size_t> &liveMappings() {
  static std::map<const char *, size_t> m;
  return m;
}
} // namespace

std::shared_ptr<MappedFile> MappedFile::open(llvm::StringRef path, std::string &error) {
  int fd = ::open(path.str().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  size_t size = st.st_size;
  const char *data = nullptr;
  if (size) {
    void *p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      error = std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    data = static_cast<const char *>(p);
  }
  ::close(fd); // the mapping keeps the file
  std::lock_guard<std::mutex> lock(mappingsMutex);
  if (data)
    liveMappings()[data] = size;
  return std::shared_ptr<MappedFile>(new MappedFile(data, size));
}

MappedFile::~MappedFile() {
  if (!data)
    return;
  {
    std::lock_guard<std::mutex> lock(mappingsMutex);
    liveMappings().erase(data);
  }
  munmap(const_cast<char *>(data), size);
}

void releasePages(llvm::ArrayRef<char> range) {
  if (range.empty())
    return;
  std::lock_guard<std::mutex> lock(mappingsMutex);
  auto &m = liveMappings();
  auto it = m.upper_bound(range.data());
  if (it == m.begin())
    return;
  --it;
  if (range.data() + range.size() > it->first + it->second)
    return; // not (wholly) inside a mapping
  uintptr_t page = sysconf(_SC_PAGESIZE);
  uintptr_t begin = (reinterpret_cast<uintptr_t>(range.data()) + page - 1) / page * page;
  uintptr_t end = (reinterpret_cast<uintptr_t>(range.data()) + range.size()) / page * page;
  if (end > begin)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

ElementsAttr mappedConstant(RankedTensorType type, llvm::StringRef name,
                            std::shared_ptr<MappedFile> file, size_t offset, size_t length) {
  ArrayRef<char> bytes = file->bytes().slice(offset, length);
  // The deleter owns a reference: the file stays mapped while any blob of
  // it is alive. Alignment 1: an initializer's bytes sit anywhere in the
  // protobuf; readers copy them (rawData's users never cast the pointer).
  AsmResourceBlob blob(bytes, /*dataAlignment=*/1,
                       [file = std::move(file)](void *, size_t, size_t) {},
                       /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Bytes per element, or 0 when elements are not whole bytes (i1, i4, ...).
static size_t elementBytes(Type elt) {
  if (!elt.isIntOrFloat())
    return 0;
  unsigned bits = elt.getIntOrFloatBitWidth();
  return bits % 8 || elt.isInteger(1) ? 0 : bits / 8;
}

std::optional<llvm::ArrayRef<char>> rawData(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  size_t eltBytes = elementBytes(type.getElementType());
  if (!eltBytes)
    return std::nullopt;
  ArrayRef<char> raw;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return std::nullopt;
    raw = dense.getRawData();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    raw = blob->getData();
  } else {
    return std::nullopt;
  }
  if (raw.size() != size_t(type.getNumElements()) * eltBytes)
    return std::nullopt; // a released blob, or one that does not fit its type
  return raw;
}

/// Visits the block's contiguous runs: `run(sourceByteOffset, bytes)` in
/// row-major block order.
static void forEachRun(ArrayRef<int64_t> shape, ArrayRef<int64_t> block,
                       ArrayRef<int64_t> offsets, size_t eltBytes,
                       llvm::function_ref<void(size_t, size_t)> run) {
  int64_t rank = shape.size();
  SmallVector<int64_t> stride(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    stride[d] = stride[d + 1] * shape[d + 1];
  // Innermost dimension where the block is narrower than the tensor: from
  // there inwards every run is contiguous.
  int64_t k = rank - 1;
  while (k >= 0 && block[k] == shape[k] && offsets[k] == 0)
    --k;
  if (k < 0) {
    run(0, size_t(stride.empty() ? 1 : stride[0] * shape[0]) * eltBytes);
    return;
  }
  size_t runBytes = size_t(block[k]) * stride[k] * eltBytes;
  SmallVector<int64_t> idx(k, 0); // odometer over block dims [0, k)
  while (true) {
    int64_t src = offsets[k] * stride[k];
    for (int64_t d = 0; d < k; ++d)
      src += (offsets[d] + idx[d]) * stride[d];
    run(size_t(src) * eltBytes, runBytes);
    int64_t d = k - 1;
    while (d >= 0 && ++idx[d] == block[d])
      idx[d--] = 0;
    if (d < 0)
      return;
  }
}

ElementsAttr readBlock(ElementsAttr attr, RankedTensorType blockType,
                       llvm::ArrayRef<int64_t> offsets, bool asResource) {
  auto type = cast<RankedTensorType>(attr.getType());
  if (offsets.size() != (size_t)type.getRank() ||
      blockType.getElementType() != type.getElementType())
    return nullptr;
  if (blockType.getNumElements() == 0)
    return DenseElementsAttr::getFromRawBuffer(blockType, ArrayRef<char>());
  ArrayRef<int64_t> shape = type.getShape(), block = blockType.getShape();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return dense.resizeSplat(blockType);
    if (type.getElementType().isInteger(1)) {
      auto values = dense.getValues<bool>();
      SmallVector<bool> out;
      out.reserve(blockType.getNumElements());
      forEachRun(shape, block, offsets, 1, [&](size_t src, size_t n) {
        for (size_t i = 0; i < n; ++i)
          out.push_back(values[src + i]);
      });
      return DenseElementsAttr::get(blockType, out);
    }
  }
  std::optional<ArrayRef<char>> raw = rawData(attr);
  if (!raw)
    return nullptr;
  size_t eltBytes = elementBytes(type.getElementType());
  size_t total = size_t(blockType.getNumElements()) * eltBytes;
  if (!asResource) {
    // A block that is one contiguous run (a leading-dimension block, the
    // whole tensor) becomes the attribute straight from the source bytes.
    size_t runs = 0, start = 0;
    forEachRun(shape, block, offsets, eltBytes, [&](size_t src, size_t) {
      if (!runs++)
        start = src;
    });
    if (runs == 1) {
      auto dense = DenseElementsAttr::getFromRawBuffer(blockType, raw->slice(start, total));
      releasePages(*raw);
      return dense;
    }
  }
  AsmResourceBlob heap;
  std::vector<char> vec;
  char *out;
  if (asResource) {
    heap = HeapAsmResourceBlob::allocate(total, alignof(std::max_align_t));
    out = heap.getMutableData().data();
  } else {
    vec.resize(total);
    out = vec.data();
  }
  // Runs advance through the source in order: pages behind the current
  // run are released every few MiB, so a block read from a mapped weight
  // (a column block touches every page of it) never holds the whole
  // weight resident.
  constexpr size_t kReleaseEvery = 4 << 20;
  size_t released = 0;
  forEachRun(shape, block, offsets, eltBytes, [&](size_t src, size_t n) {
    std::memcpy(out, raw->data() + src, n);
    out += n;
    if (src - released >= kReleaseEvery) {
      releasePages(raw->slice(released, src - released));
      released = src;
    }
  });
  releasePages(raw->drop_front(released));
  if (asResource)
    return DenseResourceElementsAttr::get(blockType, "partita.block", std::move(heap));
  return DenseElementsAttr::getFromRawBuffer(blockType, vec);
}

bool hasResourceConstants(Operation *root) {
  return root
      ->walk([](ConstantOp op) {
        return isa<DenseResourceElementsAttr>(op.getValue()) ? WalkResult::interrupt()
                                                             : WalkResult::advance();
      })
      .wasInterrupted();
}

unsigned materializeResourceConstants(Operation *root) {
  unsigned n = 0;
  root->walk([&](ConstantOp op) {
    auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue());
    if (!resource)
      return;
    auto type = cast<RankedTensorType>(resource.getType());
    SmallVector<int64_t> zeros(type.getRank(), 0);
    if (ElementsAttr dense = readBlock(resource, type, zeros)) {
      op.setValueAttr(dense);
      ++n;
    }
  });
  return n;
}

size_t releaseUnreferencedBlobs(llvm::ArrayRef<Operation *> roots) {
  if (roots.empty())
    return 0;
  llvm::StringSet<> referenced;
  for (Operation *root : roots)
    root->walk([&](Operation *op) {
      op->getAttrDictionary().walk([&](DenseResourceElementsAttr a) {
        referenced.insert(a.getRawHandle().getKey());
      });
    });
  auto &manager =
      DenseResourceElementsHandle::getManagerInterface(roots.front()->getContext())
          .getBlobManager();
  SmallVector<std::string> unused;
  size_t bytes = 0;
  manager.getBlobMap([&](const llvm::StringMap<DialectResourceBlobManager::BlobEntry> &map) {
    for (const auto &entry : map) {
      const AsmResourceBlob *blob = entry.second.getBlob();
      if (blob && !blob->getData().empty() && !referenced.contains(entry.first())) {
        unused.push_back(entry.first().str());
        bytes += blob->getData().size();
      }
    }
  });
  for (const std::string &name : unused)
    manager.update(name, AsmResourceBlob());
  return bytes;
}

} // namespace partita::graph
