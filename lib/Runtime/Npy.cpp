//===- Npy.cpp - numpy .npy reader and writer -----------------------------===//
//
// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// parsed here with a few targeted scans rather than a Python-literal parser:
// numpy itself always writes exactly these three keys.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Npy.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace llvm;

namespace partita {

static Error bad(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

/// numpy's descr for each dtype (the byte-order char is checked separately).
static StringRef descrOf(DType t) {
  switch (t) {
  case DType::F16: return "<f2";
  case DType::BF16: return "|V2";
  case DType::F32: return "<f4";
  case DType::F64: return "<f8";
  case DType::I1: return "|b1";
  case DType::I8: return "|i1";
  case DType::I16: return "<i2";
  case DType::I32: return "<i4";
  case DType::I64: return "<i8";
  case DType::U8: return "|u1";
  case DType::U16: return "<u2";
  case DType::U32: return "<u4";
  case DType::U64: return "<u8";
  }
  return "";
}

static Expected<DType> parseDescr(StringRef descr) {
  if (descr.size() < 2)
    return bad("unsupported dtype '" + descr + "'");
  char order = descr[0];
  StringRef kind = descr.drop_front();
  if (order == '>' && kind != "b1" && kind != "i1" && kind != "u1")
    return bad("big-endian dtype '" + descr + "' is not supported");
  if (order != '<' && order != '|' && order != '=' && order != '>')
    kind = descr; // numpy always writes an order char; be lenient.
  auto t = StringSwitch<std::optional<DType>>(kind)
               .Case("f2", DType::F16).Case("V2", DType::BF16)
               .Case("f4", DType::F32).Case("f8", DType::F64)
               .Case("b1", DType::I1).Case("i1", DType::I8)
               .Case("i2", DType::I16).Case("i4", DType::I32)
               .Case("i8", DType::I64).Case("u1", DType::U8)
               .Case("u2", DType::U16).Case("u4", DType::U32)
               .Case("u8", DType::U64).Default(std::nullopt);
  if (!t)
    return bad("dtype '" + descr + "' is not supported by the CPU backend");
  return *t;
}

/// The text after `'key':` in the header dict, left-trimmed.
static std::optional<StringRef> valueOf(StringRef header, StringRef key) {
  std::string quoted = ("'" + key + "'").str();
  size_t at = header.find(quoted);
  if (at == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(at + quoted.size()).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  return rest.ltrim();
}

Expected<HostTensor> parseNpy(StringRef bytes) {
  if (!bytes.starts_with("\x93NUMPY") || bytes.size() < 10)
    return bad("not a .npy file (bad magic)");
  uint8_t major = bytes[6];
  size_t headerLen, start;
  if (major == 1) {
    headerLen = (uint8_t)bytes[8] | ((size_t)(uint8_t)bytes[9] << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return bad("truncated .npy header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= (size_t)(uint8_t)bytes[8 + i] << (8 * i);
    start = 12;
  } else {
    return bad("unsupported .npy version " + Twine((int)major));
  }
  if (bytes.size() < start + headerLen)
    return bad("truncated .npy header");
  StringRef header = bytes.substr(start, headerLen);

  auto descrText = valueOf(header, "descr");
  auto fortranText = valueOf(header, "fortran_order");
  auto shapeText = valueOf(header, "shape");
  if (!descrText || !fortranText || !shapeText)
    return bad("malformed .npy header: " + header.rtrim());
  StringRef d = *descrText;
  if (d.empty() || (d[0] != '\'' && d[0] != '"'))
    return bad("unsupported structured dtype in .npy header");
  size_t close = d.find(d[0], 1);
  if (close == StringRef::npos)
    return bad("malformed .npy header: " + header.rtrim());
  auto dtype = parseDescr(d.slice(1, close));
  if (!dtype)
    return dtype.takeError();
  if (fortranText->starts_with("True"))
    return bad("fortran-order arrays are not supported (save with C order)");

  StringRef s = *shapeText;
  if (!s.consume_front("("))
    return bad("malformed .npy shape");
  s = s.take_until([](char c) { return c == ')'; });
  std::vector<int64_t> shape;
  SmallVector<StringRef> parts;
  s.split(parts, ',');
  for (StringRef p : parts) {
    p = p.trim();
    if (p.empty())
      continue;
    int64_t dim;
    if (p.getAsInteger(10, dim) || dim < 0)
      return bad("malformed .npy shape '(" + s + ")'");
    shape.push_back(dim);
  }

  HostTensor t(*dtype, std::move(shape));
  StringRef payload = bytes.drop_front(start + headerLen);
  if (payload.size() < t.numBytes())
    return bad("truncated .npy data: " + Twine(payload.size()) + " bytes for " +
               Twine(t.numBytes()) + " expected");
  std::memcpy(t.data.data(), payload.data(), t.numBytes());
  return t;
}

Expected<HostTensor> readNpyFile(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false,
                                   /*RequiresNullTerminator=*/false);
  if (!buf)
    return bad("cannot read '" + path + "': " + buf.getError().message());
  return parseNpy((*buf)->getBuffer());
}

std::string serializeNpy(const HostTensor &t) {
  std::string header;
  raw_string_ostream os(header);
  os << "{'descr': '" << descrOf(t.dtype) << "', 'fortran_order': False, 'shape': (";
  for (int64_t d : t.shape)
    os << d << (t.shape.size() == 1 ? "," : ", ");
  if (t.shape.size() > 1)
    header.resize(header.size() - 2);
  os << "), }";
  // As numpy >= 1.23: room for the first dimension to grow to 21 digits
  // (in-place appends), then spaces so that magic + len + header + '\n' is a
  // multiple of 64. The bytes then equal np.save's.
  if (!t.shape.empty())
    header.append(21 - std::to_string(t.shape[0]).size(), ' ');
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back((char)(header.size() & 0xff));
  out.push_back((char)(header.size() >> 8));
  out += header;
  out.append(reinterpret_cast<const char *>(t.data.data()), t.data.size());
  return out;
}

Error writeNpyFile(StringRef path, const HostTensor &t) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return bad("cannot write '" + path + "': " + ec.message());
  os << serializeNpy(t);
  os.close();
  if (os.has_error())
    return bad("cannot write '" + path + "': " + os.error().message());
  return Error::success();
}

} // namespace partita
