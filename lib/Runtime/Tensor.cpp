//===- Tensor.cpp - host tensors for the CPU runtime ----------------------===//

#include "partita/Runtime/Tensor.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"

#include <cstring>
#include <random>

using namespace mlir;

namespace partita {

StringRef dtypeName(DType t) {
  switch (t) {
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I1: return "i1";
  case DType::I8: return "i8";
  case DType::I16: return "i16";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::U8: return "ui8";
  case DType::U16: return "ui16";
  case DType::U32: return "ui32";
  case DType::U64: return "ui64";
  }
  return "?";
}

std::optional<DType> parseDType(StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("f16", DType::F16).Case("bf16", DType::BF16)
      .Case("f32", DType::F32).Case("f64", DType::F64)
      .Case("i1", DType::I1).Case("i8", DType::I8).Case("i16", DType::I16)
      .Case("i32", DType::I32).Case("i64", DType::I64)
      .Case("ui8", DType::U8).Case("ui16", DType::U16)
      .Case("ui32", DType::U32).Case("ui64", DType::U64)
      .Default(std::nullopt);
}

unsigned dtypeBytes(DType t) {
  switch (t) {
  case DType::I1: case DType::I8: case DType::U8: return 1;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
  case DType::F32: case DType::I32: case DType::U32: return 4;
  case DType::F64: case DType::I64: case DType::U64: return 8;
  }
  return 0;
}

bool isFloat(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64;
}

std::optional<DType> dtypeOf(Type t) {
  if (t.isF16()) return DType::F16;
  if (t.isBF16()) return DType::BF16;
  if (t.isF32()) return DType::F32;
  if (t.isF64()) return DType::F64;
  auto it = dyn_cast<IntegerType>(t);
  if (!it)
    return std::nullopt;
  bool u = it.isUnsigned();
  switch (it.getWidth()) {
  case 1: return u ? std::nullopt : std::optional<DType>(DType::I1);
  case 8: return u ? DType::U8 : DType::I8;
  case 16: return u ? DType::U16 : DType::I16;
  case 32: return u ? DType::U32 : DType::I32;
  case 64: return u ? DType::U64 : DType::I64;
  default: return std::nullopt;
  }
}

Type mlirType(MLIRContext *ctx, DType t) {
  Builder b(ctx);
  switch (t) {
  case DType::F16: return b.getF16Type();
  case DType::BF16: return b.getBF16Type();
  case DType::F32: return b.getF32Type();
  case DType::F64: return b.getF64Type();
  case DType::I1: return b.getI1Type();
  case DType::I8: return b.getIntegerType(8);
  case DType::I16: return b.getIntegerType(16);
  case DType::I32: return b.getIntegerType(32);
  case DType::I64: return b.getIntegerType(64);
  case DType::U8: return b.getIntegerType(8, false);
  case DType::U16: return b.getIntegerType(16, false);
  case DType::U32: return b.getIntegerType(32, false);
  case DType::U64: return b.getIntegerType(64, false);
  }
  return {};
}

std::string shapeString(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype(dtype), shape(std::move(shape)) {
  data.assign(numElements() * dtypeBytes(dtype), 0);
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { // subnormal: normalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T>
static T load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

double HostTensor::getDouble(int64_t i) const {
  const uint8_t *p = data.data() + i * dtypeBytes(dtype);
  switch (dtype) {
  case DType::F16: return halfToFloat(load<uint16_t>(p));
  case DType::BF16: return bf16ToFloat(load<uint16_t>(p));
  case DType::F32: return load<float>(p);
  case DType::F64: return load<double>(p);
  case DType::U64: return (double)load<uint64_t>(p);
  default: return (double)getInt(i);
  }
}

int64_t HostTensor::getInt(int64_t i) const {
  const uint8_t *p = data.data() + i * dtypeBytes(dtype);
  switch (dtype) {
  case DType::I1: return *p != 0;
  case DType::I8: return load<int8_t>(p);
  case DType::I16: return load<int16_t>(p);
  case DType::I32: return load<int32_t>(p);
  case DType::I64: return load<int64_t>(p);
  case DType::U8: return *p;
  case DType::U16: return load<uint16_t>(p);
  case DType::U32: return load<uint32_t>(p);
  case DType::U64: return (int64_t)load<uint64_t>(p);
  default: return (int64_t)getDouble(i);
  }
}

std::optional<HostTensor> tensorFromAttr(DenseElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  std::optional<DType> dt = dtypeOf(type.getElementType());
  if (!dt)
    return std::nullopt;
  HostTensor t(*dt, std::vector<int64_t>(type.getShape()));
  unsigned bytes = dtypeBytes(*dt);
  int64_t n = t.numElements();
  if (*dt == DType::I1) {
    int64_t i = 0;
    for (bool b : attr.getValues<bool>())
      t.data[i++] = b;
    return t;
  }
  ArrayRef<char> raw = attr.getRawData();
  if (!attr.isSplat() && (int64_t)raw.size() == n * bytes) {
    std::memcpy(t.data.data(), raw.data(), raw.size());
    return t;
  }
  // Splat: the raw data holds one element.
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(t.data.data() + i * bytes, raw.data(), bytes);
  return t;
}

HostTensor randomTensor(DType dtype, ArrayRef<int64_t> shape, uint64_t seed) {
  HostTensor t(dtype, std::vector<int64_t>(shape));
  std::mt19937_64 rng(seed);
  int64_t n = t.numElements();
  unsigned bytes = dtypeBytes(dtype);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t *p = t.data.data() + i * bytes;
    // 53 random bits -> [0, 1), then [-1, 1).
    double u = (double)(rng() >> 11) * 0x1.0p-53;
    float f = (float)(2 * u - 1);
    uint32_t fb;
    std::memcpy(&fb, &f, 4);
    switch (dtype) {
    case DType::F32: std::memcpy(p, &f, 4); break;
    case DType::F64: { double d = 2 * u - 1; std::memcpy(p, &d, 8); break; }
    case DType::BF16: { uint16_t h = fb >> 16; std::memcpy(p, &h, 2); break; }
    case DType::F16: {
      // |f| < 1: exponent fits f16's normal range or flushes to zero.
      uint32_t sign = (fb >> 16) & 0x8000, e = (fb >> 23) & 0xff;
      uint16_t h = (uint16_t)sign;
      if (e >= 127 - 14)
        h |= (uint16_t)(((e - 127 + 15) << 10) | ((fb >> 13) & 0x3ff));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::I1: *p = (uint8_t)(u < 0.5); break;
    default: {
      int64_t v = (int64_t)(u * 4);
      std::memcpy(p, &v, bytes); // little-endian: the low bytes
      break;
    }
    }
  }
  return t;
}

} // namespace partita
