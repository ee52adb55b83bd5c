//===- ConstantStorage.h - where graph.constant data lives ------*- C++ -*-===//
//
// A graph.constant holds either a DenseElementsAttr (its bytes owned by the
// MLIRContext for the context's lifetime) or a DenseResourceElementsAttr
// whose blob is a block of a read-only file mapping (an ONNX model's
// initializer, read in place) or a heap buffer. Resource blobs can be
// released while the context lives on, which is what lets a rank read only
// its blocks of the model's weights: the importer maps the weights, the
// partitioner's per-rank slices read blocks of them, and the blobs are
// released once no op refers to them (docs/partitioning.md, "Per-rank
// weights").
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_GRAPH_IR_CONSTANTSTORAGE_H
#define PARTITA_DIALECTS_GRAPH_IR_CONSTANTSTORAGE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

#include <memory>
#include <optional>
#include <string>

namespace partita::graph {

/// A read-only mapping of a whole file. Its pages are read on first touch;
/// releasePages() drops them from the process's resident set again.
class MappedFile {
public:
  /// Maps `path`; null with `error` set on failure.
  static std::shared_ptr<MappedFile> open(llvm::StringRef path, std::string &error);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  llvm::ArrayRef<char> bytes() const { return {data, size}; }

private:
  MappedFile(const char *data, size_t size) : data(data), size(size) {}
  const char *data;
  size_t size;
};

/// Drops the resident pages wholly inside [data, data + size) if the range
/// lies in a live MappedFile (a later read faults them in from the file
/// again); does nothing for any other memory.
void releasePages(llvm::ArrayRef<char> range);

/// A constant of `type` whose data is `length` bytes of `file` at `offset`,
/// read in place (no copy). The caller checked the bounds.
mlir::ElementsAttr mappedConstant(mlir::RankedTensorType type, llvm::StringRef name,
                                  std::shared_ptr<MappedFile> file, size_t offset,
                                  size_t length);

/// The row-major bytes of a non-splat constant whose elements are whole
/// bytes (not i1): a dense attribute's storage or a resource's blob.
std::optional<llvm::ArrayRef<char>> rawData(mlir::ElementsAttr attr);

/// The block of `attr` of `blockType`'s shape at `offsets` (one per
/// dimension), copied. Reading a mapped constant releases the pages it
/// touched. `asResource` returns the block as a heap resource blob (which
/// releaseUnreferencedBlobs can free) instead of a dense attribute. Null if
/// the attribute's data is not readable.
mlir::ElementsAttr readBlock(mlir::ElementsAttr attr, mlir::RankedTensorType blockType,
                             llvm::ArrayRef<int64_t> offsets, bool asResource = false);

/// True if a graph.constant under `root` is resource-backed.
bool hasResourceConstants(mlir::Operation *root);

/// Replaces every resource-backed graph.constant under `root` by a dense
/// copy (releasing mapped pages as it reads). Returns how many it replaced.
unsigned materializeResourceConstants(mlir::Operation *root);

/// Frees the blob of every builtin dense resource that no op under `roots`
/// refers to (a file mapping is unmapped once none of its blobs is left).
/// Any other module of the same context that still refers to one of them
/// must be among `roots`. Returns the number of bytes released.
size_t releaseUnreferencedBlobs(llvm::ArrayRef<mlir::Operation *> roots);

} // namespace partita::graph

#endif // PARTITA_DIALECTS_GRAPH_IR_CONSTANTSTORAGE_H
