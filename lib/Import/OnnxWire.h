//===- OnnxWire.h - cut initializer data out of a serialized model -*- C++ -*-===//
//
// libprotobuf copies every `bytes` field while parsing, so parsing a model
// costs a copy of all its weights. To read weights in place instead, the
// importer first walks the protobuf wire format of the (mapped) file,
// ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.raw_data
// (9), and re-encodes the messages without the large raw_data fields,
// recording where each one lies in the file. The result parses like the
// original minus those bytes.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_ONNXWIRE_H
#define PARTITA_LIB_IMPORT_ONNXWIRE_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partita::import {

/// Where one initializer's raw_data lies in the file; length 0: it was
/// kept in the message (small, boolean, string, or typed-field data).
struct RawDataSpan {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct StrippedModel {
  /// The ModelProto without the cut raw_data fields.
  std::string bytes;
  /// One per GraphProto.initializer, in the order protobuf parses them.
  std::vector<RawDataSpan> spans;
};

/// Cuts raw_data fields of at least `minBytes` out of the graph's
/// initializers (not BOOL or STRING ones). nullopt if `file` is not
/// well-formed protobuf (the caller's parse then reports it).
std::optional<StrippedModel> stripInitializerData(llvm::ArrayRef<char> file,
                                                  uint64_t minBytes);

} // namespace partita::import

#endif // PARTITA_LIB_IMPORT_ONNXWIRE_H
