//===- RuntimeTensorTest.cpp - .npy I/O and output comparison -------------===//

#include "partita/Runtime/Compare.h"
#include "partita/Runtime/Npy.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace partita;

namespace {

template <typename T>
HostTensor make(DType dtype, std::vector<int64_t> shape, std::vector<T> values) {
  HostTensor t(dtype, std::move(shape));
  EXPECT_EQ(t.numBytes(), values.size() * sizeof(T));
  std::memcpy(t.data.data(), values.data(), t.numBytes());
  return t;
}

HostTensor f32(std::vector<float> v, std::vector<int64_t> shape = {}) {
  if (shape.empty())
    shape = {(int64_t)v.size()};
  return make(DType::F32, shape, v);
}

/// Magic, version 1.0 and the 2-byte header length.
std::string v1Prefix(uint16_t headerLen) {
  std::string p = "\x93NUMPY";
  p += '\x01';
  p += '\0';
  p += (char)(headerLen & 0xff);
  p += (char)(headerLen >> 8);
  return p;
}

/// A .npy as numpy 1.24 writes it (version 1.0, header padded to 64).
std::string npyBytes(const std::string &dict, const std::string &payload) {
  std::string header = dict;
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += (char)(header.size() & 0xff);
  out += (char)(header.size() >> 8);
  return out + header + payload;
}

TEST(Npy, RoundTripsEveryDType) {
  const DType all[] = {DType::F16, DType::BF16, DType::F32, DType::F64, DType::I1,
                       DType::I8,  DType::I16,  DType::I32, DType::I64, DType::U8,
                       DType::U16, DType::U32,  DType::U64};
  for (DType dt : all) {
    HostTensor t = randomTensor(dt, {2, 3, 1}, /*seed=*/42);
    auto back = parseNpy(serializeNpy(t));
    ASSERT_TRUE(bool(back)) << dtypeName(dt).str();
    EXPECT_EQ(back->dtype, dt);
    EXPECT_EQ(back->shape, t.shape);
    EXPECT_EQ(back->data, t.data) << dtypeName(dt).str();
  }
}

TEST(Npy, RoundTripsScalarsEmptyAndRank1) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{}, {0}, {5}, {2, 0, 3}, {1, 1, 1, 1, 1, 2}}) {
    HostTensor t = randomTensor(DType::I64, shape, 1);
    std::string bytes = serializeNpy(t);
    EXPECT_EQ((bytes.size() - t.numBytes()) % 64, 0u); // aligned header
    auto back = parseNpy(bytes);
    ASSERT_TRUE(bool(back));
    EXPECT_EQ(back->shape, shape);
    EXPECT_EQ(back->data, t.data);
  }
}

TEST(Npy, HeaderSpellings) {
  HostTensor t = make<float>(DType::F32, {2}, {1.0f, 2.0f});
  std::string payload((const char *)t.data.data(), t.numBytes());
  // Byte for byte what numpy 1.24's np.save writes.
  EXPECT_EQ(serializeNpy(t), v1Prefix(118) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" +
                                 std::string(60, ' ') + "\n" + payload);
  HostTensor s = make<float>(DType::F32, {}, {2.5f});
  EXPECT_EQ(serializeNpy(s).substr(0, 65),
            v1Prefix(118) + "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
  EXPECT_EQ(serializeNpy(s).size(), 128u + 4);
  HostTensor i = HostTensor(DType::I64, {2, 3, 1});
  EXPECT_EQ(serializeNpy(i).substr(10, 62),
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3, 1), }");
  EXPECT_EQ(serializeNpy(i).size(), 128u + 48);
  // Key order and spacing as other writers produce them.
  auto a = parseNpy(npyBytes("{'shape': (2,),'fortran_order':False,'descr':'<f4'}", payload));
  ASSERT_TRUE(bool(a));
  EXPECT_EQ(a->shape, std::vector<int64_t>{2});
  // Version 2.0: 4-byte header length.
  std::string v1 = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload);
  std::string v2 = "\x93NUMPY";
  v2 += '\x02';
  v2 += '\x00';
  uint32_t len = (uint8_t)v1[8] | ((uint8_t)v1[9] << 8);
  v2.append((const char *)&len, 4);
  v2 += v1.substr(10);
  auto b = parseNpy(v2);
  ASSERT_TRUE(bool(b));
  EXPECT_EQ(b->data, t.data);
  // Booleans and single-byte types use '|'.
  auto c = parseNpy(npyBytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 1), }",
                             std::string("\x01\x00", 2)));
  ASSERT_TRUE(bool(c));
  EXPECT_EQ(c->dtype, DType::I1);
  EXPECT_EQ(c->getInt(0), 1);
  EXPECT_EQ(c->getInt(1), 0);
}

TEST(Npy, Rejects) {
  auto msg = [](const std::string &bytes) {
    auto r = parseNpy(bytes);
    EXPECT_FALSE(bool(r));
    return r ? std::string() : llvm::toString(r.takeError());
  };
  EXPECT_EQ(msg("hello"), "not a .npy file (bad magic)");
  EXPECT_EQ(msg(npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                         std::string(8, 0))),
            "dtype '<c8' is not supported by the CPU backend");
  EXPECT_EQ(msg(npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                         std::string(4, 0))),
            "big-endian dtype '>f4' is not supported");
  EXPECT_EQ(msg(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                         std::string(16, 0))),
            "fortran-order arrays are not supported (save with C order)");
  EXPECT_EQ(msg(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                         std::string(8, 0))),
            "truncated .npy data: 8 bytes for 16 expected");
  EXPECT_EQ(msg(npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                         std::string(4, 0))),
            "unsupported structured dtype in .npy header");
}

TEST(Tensor, HalfAndBF16Decoding) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_EQ(bf16ToFloat(0x3fc0), 1.5f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
}

TEST(Tensor, RandomIsSeededAndInRange) {
  HostTensor a = randomTensor(DType::F32, {100}, 3), b = randomTensor(DType::F32, {100}, 3),
             c = randomTensor(DType::F32, {100}, 4);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  for (int64_t i = 0; i < 100; ++i) {
    EXPECT_GE(a.getDouble(i), -1.0);
    EXPECT_LT(a.getDouble(i), 1.0);
  }
  HostTensor h = randomTensor(DType::F16, {100}, 3);
  for (int64_t i = 0; i < 100; ++i)
    EXPECT_NEAR(h.getDouble(i), a.getDouble(i), 1e-3); // same draws, rounded
  HostTensor n = randomTensor(DType::I64, {100}, 3);
  for (int64_t i = 0; i < 100; ++i) {
    EXPECT_GE(n.getInt(i), 0);
    EXPECT_LT(n.getInt(i), 4);
  }
}

TEST(Compare, F32Tolerance) {
  Tolerance tol = defaultTolerance(DType::F32);
  EXPECT_EQ(tol.rtol, 1e-4);
  EXPECT_EQ(tol.atol, 1e-5);
  // Relative error 5e-5 passes; 2e-4 fails.
  Comparison ok = compareTensors(f32({1000.05f, 2}), f32({1000, 2}), tol);
  EXPECT_TRUE(ok.ok);
  EXPECT_NEAR(ok.maxAbsErr, 0.05, 1e-4);
  EXPECT_NEAR(ok.maxRelErr, 5e-5, 1e-7);
  Comparison bad = compareTensors(f32({1, 1000.2f, 3.5f}), f32({1, 1000, 3}), tol);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.mismatches, 2);
  EXPECT_EQ(bad.firstMismatch, 1);
  EXPECT_NEAR(bad.maxAbsErr, 0.5, 1e-6);
  EXPECT_NEAR(bad.maxRelErr, 0.5 / 3, 1e-6);
  // Near zero the absolute tolerance decides; a zero expected value does not
  // make the relative error infinite.
  Comparison zero = compareTensors(f32({5e-6f}), f32({0}), tol);
  EXPECT_TRUE(zero.ok);
  EXPECT_EQ(zero.maxRelErr, 0);
  EXPECT_FALSE(compareTensors(f32({2e-5f}), f32({0}), tol).ok);
}

TEST(Compare, NaNAndInf) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  Tolerance tol = defaultTolerance(DType::F32);
  EXPECT_TRUE(compareTensors(f32({nan, inf, -inf}), f32({nan, inf, -inf}), tol).ok);
  EXPECT_FALSE(compareTensors(f32({nan}), f32({1}), tol).ok);
  EXPECT_FALSE(compareTensors(f32({1}), f32({nan}), tol).ok);
  EXPECT_FALSE(compareTensors(f32({inf}), f32({-inf}), tol).ok);
  Comparison c = compareTensors(f32({inf}), f32({1e30f}), tol);
  EXPECT_FALSE(c.ok);
  EXPECT_TRUE(std::isinf(c.maxAbsErr));
}

TEST(Compare, HalfPrecisionIsLooser) {
  // 1.0 and the next f16 (1 + 2^-10): within f16's tolerance, not f32's.
  HostTensor a = make<uint16_t>(DType::F16, {1}, {0x3c00});
  HostTensor b = make<uint16_t>(DType::F16, {1}, {0x3c01});
  EXPECT_TRUE(compareTensors(a, b, defaultTolerance(DType::F16)).ok);
  EXPECT_FALSE(compareTensors(a, b, defaultTolerance(DType::F32)).ok);
  // bf16: 1.0 vs 1.0078125 (one ulp).
  HostTensor c = make<uint16_t>(DType::BF16, {1}, {0x3f80});
  HostTensor d = make<uint16_t>(DType::BF16, {1}, {0x3f81});
  EXPECT_TRUE(compareTensors(c, d, defaultTolerance(DType::BF16)).ok);
  EXPECT_GT(defaultTolerance(DType::BF16).rtol, defaultTolerance(DType::F16).rtol);
}

TEST(Compare, IntegersAndBoolsAreExact) {
  for (DType dt : {DType::I1, DType::I8, DType::I32, DType::I64, DType::U8, DType::U64}) {
    Tolerance tol = defaultTolerance(dt);
    EXPECT_EQ(tol.rtol, 0);
    EXPECT_EQ(tol.atol, 0);
  }
  HostTensor a = make<int64_t>(DType::I64, {3}, {1, 2, int64_t(1) << 60});
  HostTensor b = make<int64_t>(DType::I64, {3}, {1, 2, (int64_t(1) << 60) + 1});
  Comparison c = compareTensors(a, b, defaultTolerance(DType::I64));
  EXPECT_FALSE(c.ok); // differs by one in 2^60: not lost to doubles
  EXPECT_EQ(c.firstMismatch, 2);
  EXPECT_EQ(c.describeFirst(a, b), "first at [2]: got 1152921504606846976, expected "
                                   "1152921504606846977");
  EXPECT_TRUE(compareTensors(a, a, {}).ok);
  HostTensor u = make<uint64_t>(DType::U64, {1}, {~0ull});
  HostTensor v = make<uint64_t>(DType::U64, {1}, {~0ull - 1});
  Comparison cu = compareTensors(u, v, {});
  EXPECT_FALSE(cu.ok);
  EXPECT_EQ(cu.describeFirst(u, v),
            "first at [0]: got 18446744073709551615, expected 18446744073709551614");
}

TEST(Compare, StructuralMismatch) {
  Comparison s = compareTensors(f32({1, 2, 3, 4}, {2, 2}), f32({1, 2, 3, 4}, {4}), {});
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.structuralError, "shape 2x2 differs from the expected 4");
  Comparison d = compareTensors(f32({1}), make<double>(DType::F64, {1}, {1.0}), {});
  EXPECT_EQ(d.structuralError, "dtype f32 differs from the expected f64");
}

TEST(Compare, DescribeFirstUnflattens) {
  HostTensor a = f32({0, 0, 0, 0, 0, 7}, {2, 3});
  HostTensor b = f32({0, 0, 0, 0, 0, 6.5}, {2, 3});
  Comparison c = compareTensors(a, b, defaultTolerance(DType::F32));
  EXPECT_EQ(c.describeFirst(a, b), "first at [1, 2]: got 7, expected 6.5");
}

} // namespace
