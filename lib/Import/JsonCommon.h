//===- JsonCommon.h - shared by the JSON importer and exporter --*- C++ -*-===//
//
// The Partita JSON graph IR (docs/json-format.md) is read and written with
// nlohmann/json built without exceptions: LLVM is compiled with
// -fno-exceptions, so every access checks the value's type first and a
// malformed file is a diagnostic, never an abort.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_JSONCOMMON_H
#define PARTITA_LIB_IMPORT_JSONCOMMON_H

#ifndef JSON_NOEXCEPTION
#define JSON_NOEXCEPTION
#endif
#include <nlohmann/json.hpp>

#include "mlir/IR/BuiltinTypes.h"

namespace partita::import {

/// Keeps keys in the order they were written (readable exports).
using Json = nlohmann::ordered_json;

/// The one format version this build reads and writes.
constexpr int64_t kJsonFormatVersion = 1;
constexpr const char *kJsonFormatName = "partita.graph";

/// "f32", "i64", "u8", "bool"/"i1", ... -> element type; null if unknown.
mlir::Type jsonElementType(mlir::MLIRContext *ctx, llvm::StringRef name);
/// The inverse of jsonElementType ("" for types without a JSON spelling).
std::string jsonTypeName(mlir::Type type);
/// The ONNX TensorProto data type number of an element type (0 if none).
int onnxDataType(mlir::Type type);

} // namespace partita::import

#endif // PARTITA_LIB_IMPORT_JSONCOMMON_H
