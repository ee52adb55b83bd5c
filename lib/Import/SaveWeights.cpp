//===- SaveWeights.cpp - a model file with new initializer values ---------===//
//
// `partita train --save-weights OUT.onnx|OUT.json`: the input model written
// again with every trained initializer's data replaced (ONNX: raw_data, the
// typed fields and any external data dropped; JSON: "data" as a list of
// numbers), every other field as it was.
//
//===----------------------------------------------------------------------===//

#include "partita/Import/Importer.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <climits>
#include <cstring>

using namespace mlir;

namespace partita {
namespace {

/// Bytes per element of an ONNX TensorProto data type (0: not a type with
/// fixed-size elements).
size_t onnxElementBytes(int32_t type) {
  switch (type) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return 4;
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
    return 8;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return 2;
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
    return 1;
  default:
    return 0;
  }
}

LogicalResult writeFile(StringRef path, StringRef bytes, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  os << bytes;
  os.close();
  if (os.has_error()) {
    error = "cannot write '" + path.str() + "': " + os.error().message();
    os.clear_error();
    return failure();
  }
  return success();
}

LogicalResult saveOnnx(StringRef modelPath, StringRef outPath,
                       const llvm::StringMap<const InitializerValue *> &byName,
                       std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(modelPath, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = "cannot read '" + modelPath.str() + "': " + buf.getError().message();
    return failure();
  }
  onnx::ModelProto model;
  if ((*buf)->getBufferSize() > (size_t)INT_MAX ||
      !model.ParseFromArray((*buf)->getBufferStart(), (int)(*buf)->getBufferSize())) {
    error = "'" + modelPath.str() + "' is not an ONNX model protobuf can read (2 GiB at most)";
    return failure();
  }
  llvm::StringMap<bool> written;
  for (onnx::TensorProto &t : *model.mutable_graph()->mutable_initializer()) {
    auto it = byName.find(t.name());
    if (it == byName.end())
      continue;
    size_t elementBytes = onnxElementBytes(t.data_type());
    uint64_t count = 1;
    for (int64_t d : t.dims())
      count *= d;
    if (!elementBytes || count * elementBytes != it->second->bytes.size()) {
      error = "the value for initializer '" + t.name() + "' has " +
              std::to_string(it->second->bytes.size()) + " bytes, the initializer " +
              std::to_string(count * elementBytes);
      return failure();
    }
    t.clear_float_data();
    t.clear_double_data();
    t.clear_int32_data();
    t.clear_int64_data();
    t.clear_uint64_data();
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
    t.set_raw_data(it->second->bytes.data(), it->second->bytes.size());
    written[t.name()] = true;
  }
  for (const auto &entry : byName)
    if (!written.count(entry.getKey())) {
      error = "'" + modelPath.str() + "' has no initializer named '" + entry.getKey().str() + "'";
      return failure();
    }
  if (model.ByteSizeLong() > (size_t)INT_MAX) {
    error = "the trained model is larger than protobuf's 2 GiB: save the weights as a "
            "directory of .npy files instead (--save-weights DIR)";
    return failure();
  }
  std::string out;
  if (!model.SerializeToString(&out)) {
    error = "cannot serialize the trained model";
    return failure();
  }
  return writeFile(outPath, out, error);
}

/// The value of element `i` of `bytes` holding `dtype` elements, as a JSON
/// number.
std::optional<double> jsonElement(StringRef dtype, ArrayRef<uint8_t> bytes, size_t i) {
  auto bits = [&](size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, bytes.data() + i * n, n);
    return v;
  };
  if (dtype == "f32") {
    float f;
    std::memcpy(&f, bytes.data() + 4 * i, 4);
    return f;
  }
  if (dtype == "f64") {
    double d;
    std::memcpy(&d, bytes.data() + 8 * i, 8);
    return d;
  }
  if (dtype == "f16" || dtype == "bf16") {
    const llvm::fltSemantics &sem =
        dtype == "f16" ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat();
    return llvm::APFloat(sem, llvm::APInt(16, bits(2))).convertToDouble();
  }
  return std::nullopt;
}

size_t jsonElementBytes(StringRef dtype) {
  return dtype == "f64" ? 8 : dtype == "f32" ? 4 : (dtype == "f16" || dtype == "bf16") ? 2 : 0;
}

LogicalResult saveJson(StringRef modelPath, StringRef outPath,
                       const llvm::StringMap<const InitializerValue *> &byName,
                       std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(modelPath, /*IsText=*/true);
  if (!buf) {
    error = "cannot read '" + modelPath.str() + "': " + buf.getError().message();
    return failure();
  }
  auto doc = nlohmann::ordered_json::parse((*buf)->getBuffer().begin(),
                                           (*buf)->getBuffer().end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("parameters") ||
      !doc["parameters"].is_array()) {
    error = "'" + modelPath.str() + "' is not a JSON graph with parameters";
    return failure();
  }
  llvm::StringMap<bool> written;
  for (auto &p : doc["parameters"]) {
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
      continue;
    std::string name = p["name"].get<std::string>();
    auto it = byName.find(name);
    if (it == byName.end())
      continue;
    std::string dtype = p.value("dtype", "");
    size_t n = jsonElementBytes(dtype);
    if (!n || it->second->bytes.size() % n) {
      error = "parameter '" + name + "' of dtype '" + dtype + "' cannot take trained values";
      return failure();
    }
    auto data = nlohmann::ordered_json::array();
    for (size_t i = 0; i < it->second->bytes.size() / n; ++i)
      data.push_back(*jsonElement(dtype, it->second->bytes, i));
    p.erase("fill");
    p.erase("file");
    p.erase("offset");
    p["data"] = std::move(data);
    written[name] = true;
  }
  for (const auto &entry : byName)
    if (!written.count(entry.getKey())) {
      error = "'" + modelPath.str() + "' has no parameter named '" + entry.getKey().str() + "'";
      return failure();
    }
  return writeFile(outPath, doc.dump() + "\n", error);
}

} // namespace

LogicalResult saveModelWithInitializers(StringRef modelPath, StringRef outPath,
                                        ArrayRef<InitializerValue> values, std::string &error) {
  llvm::StringMap<const InitializerValue *> byName;
  for (const InitializerValue &v : values)
    byName[v.name] = &v;
  StringRef inExt = llvm::sys::path::extension(modelPath);
  StringRef outExt = llvm::sys::path::extension(outPath);
  if (outExt != inExt || (inExt != ".onnx" && inExt != ".json")) {
    error = "--save-weights " + outPath.str() + ": a trained model is written in its own " +
            "format (.onnx for .onnx, .json for .json); name a directory for .npy files";
    return failure();
  }
  return inExt == ".onnx" ? saveOnnx(modelPath, outPath, byName, error)
                          : saveJson(modelPath, outPath, byName, error);
}

} // namespace partita
