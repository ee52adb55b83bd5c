//===- OnnxWire.cpp - cut initializer data out of a serialized model ------===//
//
// Protobuf wire format: a message is a sequence of fields, each a varint
// key (field number << 3 | wire type) and a payload: a varint (type 0), 8
// bytes (1), a varint length and that many bytes (2: strings, bytes,
// sub-messages, packed repeated fields), or 4 bytes (5). Groups (3, 4) are
// not used by ONNX and are rejected.
//
//===----------------------------------------------------------------------===//

#include "OnnxWire.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace partita::import {
namespace {

// ONNX field numbers and enum values (onnx.proto).
constexpr uint64_t kModelGraph = 7;
constexpr uint64_t kGraphInitializer = 5;
constexpr uint64_t kTensorDataType = 2;
constexpr uint64_t kTensorRawData = 9;
constexpr uint64_t kTypeString = 8;
constexpr uint64_t kTypeBool = 9;

bool readVarint(const char *&p, const char *end, uint64_t &v) {
  v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end)
      return false;
    uint8_t byte = static_cast<uint8_t>(*p++);
    v |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      return true;
  }
  return false;
}

void writeVarint(std::string &out, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    out.push_back(static_cast<char>(byte | (v ? 0x80 : 0)));
  } while (v);
}

/// One field: [begin, end) is the whole field (key included); for wire type
/// 2, [payload, end) is its content; for type 0, `value` its value.
struct Field {
  uint64_t number, wireType, value;
  const char *begin, *payload, *end;
};

/// Visits the fields of the message in [p, end); false on malformed input
/// or when `visit` returns false.
bool forEachField(const char *p, const char *end, llvm::function_ref<bool(const Field &)> visit) {
  while (p < end) {
    Field f{};
    f.begin = p;
    uint64_t key;
    if (!readVarint(p, end, key))
      return false;
    f.number = key >> 3;
    f.wireType = key & 7;
    if (f.number == 0)
      return false;
    switch (f.wireType) {
    case 0:
      if (!readVarint(p, end, f.value))
        return false;
      f.payload = p;
      break;
    case 1:
    case 5: {
      size_t n = f.wireType == 1 ? 8 : 4;
      if (size_t(end - p) < n)
        return false;
      f.payload = p;
      p += n;
      break;
    }
    case 2: {
      uint64_t length;
      if (!readVarint(p, end, length) || length > uint64_t(end - p))
        return false;
      f.payload = p;
      p += length;
      break;
    }
    default:
      return false;
    }
    f.end = p;
    if (!visit(f))
      return false;
  }
  return true;
}

void appendLengthDelimited(std::string &out, uint64_t number, const std::string &payload) {
  writeVarint(out, number << 3 | 2);
  writeVarint(out, payload.size());
  out += payload;
}

struct Stripper {
  const char *fileStart;
  uint64_t minBytes;
  std::vector<RawDataSpan> spans;

  bool tensor(const Field &t, std::string &out) {
    uint64_t dataType = 0;
    const Field *raw = nullptr;
    Field last{};
    bool ok = forEachField(t.payload, t.end, [&](const Field &f) {
      if (f.number == kTensorDataType && f.wireType == 0)
        dataType = f.value;
      if (f.number == kTensorRawData && f.wireType == 2) {
        last = f; // the last occurrence wins, as in protobuf
        raw = &last;
      }
      return true;
    });
    if (!ok)
      return false;
    uint64_t length = raw ? uint64_t(raw->end - raw->payload) : 0;
    if (!raw || length < minBytes || dataType == kTypeBool || dataType == kTypeString) {
      spans.push_back({});
      out.append(t.begin, t.end);
      return true;
    }
    spans.push_back({uint64_t(raw->payload - fileStart), length});
    std::string kept;
    forEachField(t.payload, t.end, [&](const Field &f) {
      if (!(f.number == kTensorRawData && f.wireType == 2))
        kept.append(f.begin, f.end);
      return true;
    });
    appendLengthDelimited(out, t.number, kept);
    return true;
  }

  bool graph(const Field &g, std::string &out) {
    std::string kept;
    bool ok = forEachField(g.payload, g.end, [&](const Field &f) {
      if (f.number == kGraphInitializer && f.wireType == 2)
        return tensor(f, kept);
      kept.append(f.begin, f.end);
      return true;
    });
    if (ok)
      appendLengthDelimited(out, g.number, kept);
    return ok;
  }
};

} // namespace

std::optional<StrippedModel> stripInitializerData(llvm::ArrayRef<char> file,
                                                  uint64_t minBytes) {
  Stripper s{file.data(), minBytes, {}};
  StrippedModel model;
  bool ok = forEachField(file.data(), file.data() + file.size(), [&](const Field &f) {
    if (f.number == kModelGraph && f.wireType == 2)
      return s.graph(f, model.bytes);
    model.bytes.append(f.begin, f.end);
    return true;
  });
  if (!ok)
    return std::nullopt;
  model.spans = std::move(s.spans);
  return model;
}

} // namespace partita::import
