//===- ConstantStorageTest.cpp - mapped weights, blocks, ONNX wire cuts ---===//

#include "dialects/Graph/IR/ConstantStorage.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "lib/Import/OnnxWire.h"
#include "partita/Import/Importer.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <onnx/onnx_pb.h>

#include "gtest/gtest.h"

#include <numeric>

using namespace mlir;
using namespace partita;

namespace {

/// A temporary file holding `bytes`, removed with the object.
struct TempFile {
  llvm::SmallString<128> path;
  explicit TempFile(llvm::StringRef bytes, llvm::StringRef ext = "bin") {
    int fd;
    EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("partita-storage", ext, fd, path));
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
  }
  ~TempFile() { llvm::sys::fs::remove(path); }
};

/// The block at `offsets` of a row-major tensor of `shape`, naively.
std::vector<float> naiveBlock(const std::vector<float> &all, ArrayRef<int64_t> shape,
                              ArrayRef<int64_t> block, ArrayRef<int64_t> offsets) {
  std::vector<float> out;
  int64_t n = 1;
  for (int64_t b : block)
    n *= b;
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, src = 0, stride = 1;
    SmallVector<int64_t> idx(block.size());
    for (int64_t d = block.size() - 1; d >= 0; --d) {
      idx[d] = rest % block[d];
      rest /= block[d];
    }
    for (int64_t d = block.size() - 1; d >= 0; --d) {
      src += (offsets[d] + idx[d]) * stride;
      stride *= shape[d];
    }
    out.push_back(all[src]);
  }
  return out;
}

std::vector<float> floatsOf(ElementsAttr attr) {
  std::optional<ArrayRef<char>> raw = graph::rawData(attr);
  EXPECT_TRUE(raw.has_value());
  if (!raw)
    return {};
  std::vector<float> v(raw->size() / 4);
  std::memcpy(v.data(), raw->data(), raw->size());
  return v;
}

TEST(ConstantStorage, BlocksOfDenseAndMappedConstantsMatchANaiveCopy) {
  MLIRContext ctx;
  ctx.loadDialect<graph::GraphDialect>();
  SmallVector<int64_t> shape = {4, 6, 5};
  std::vector<float> all(4 * 6 * 5);
  std::iota(all.begin(), all.end(), 0.0f);
  auto f32 = Float32Type::get(&ctx);
  auto type = RankedTensorType::get(shape, f32);
  auto dense = DenseElementsAttr::get(type, ArrayRef<float>(all));
  // The same bytes at an odd offset of a file (initializers sit anywhere).
  std::string bytes = "xyz" + std::string(reinterpret_cast<const char *>(all.data()),
                                          all.size() * 4);
  TempFile file(bytes);
  std::string error;
  auto mapped = graph::MappedFile::open(file.path, error);
  ASSERT_TRUE(mapped) << error;
  ElementsAttr resource = graph::mappedConstant(type, "w", mapped, 3, all.size() * 4);
  ASSERT_TRUE(isa<DenseResourceElementsAttr>(resource));
  EXPECT_EQ(floatsOf(resource), all);

  struct Case {
    SmallVector<int64_t> block, offsets;
  };
  for (const Case &c : {Case{{4, 6, 5}, {0, 0, 0}}, Case{{2, 6, 5}, {2, 0, 0}},
                        Case{{4, 3, 5}, {0, 3, 0}}, Case{{4, 6, 1}, {0, 0, 4}},
                        Case{{2, 3, 5}, {1, 3, 0}}, Case{{1, 2, 2}, {3, 4, 3}}}) {
    auto blockType = RankedTensorType::get(c.block, f32);
    std::vector<float> want = naiveBlock(all, shape, c.block, c.offsets);
    for (ElementsAttr source : {ElementsAttr(dense), resource})
      for (bool asResource : {false, true}) {
        ElementsAttr got = graph::readBlock(source, blockType, c.offsets, asResource);
        ASSERT_TRUE(got);
        EXPECT_EQ(isa<DenseResourceElementsAttr>(got), asResource);
        EXPECT_EQ(floatsOf(got), want);
      }
  }
  // Reading released the mapped pages; reading again faults them back in.
  EXPECT_EQ(floatsOf(graph::readBlock(resource, type, {0, 0, 0})), all);
  // A block of another element type or rank is refused, not misread.
  EXPECT_FALSE(graph::readBlock(resource, RankedTensorType::get({4, 6, 5}, IntegerType::get(&ctx, 32)),
                                {0, 0, 0}));
  EXPECT_FALSE(graph::readBlock(resource, RankedTensorType::get({4, 6}, f32), {0, 0}));
}

TEST(ConstantStorage, BooleanAndSplatBlocks) {
  MLIRContext ctx;
  auto i1 = IntegerType::get(&ctx, 1);
  SmallVector<bool> bits = {true, false, false, true, true, true};
  auto attr = DenseElementsAttr::get(RankedTensorType::get({2, 3}, i1), ArrayRef<bool>(bits));
  auto block = cast<DenseElementsAttr>(
      graph::readBlock(attr, RankedTensorType::get({2, 2}, i1), {0, 1}));
  EXPECT_EQ(SmallVector<bool>(block.getValues<bool>()), SmallVector<bool>({false, false, true, true}));
  auto splat = DenseElementsAttr::get(RankedTensorType::get({8, 8}, Float32Type::get(&ctx)), 2.5f);
  auto s = cast<DenseElementsAttr>(
      graph::readBlock(splat, RankedTensorType::get({4, 8}, Float32Type::get(&ctx)), {4, 0}));
  EXPECT_TRUE(s.isSplat());
  EXPECT_EQ(s.getSplatValue<float>(), 2.5f);
}

TEST(ConstantStorage, MaterializeThenReleaseFreesTheMappingOnlyWhenUnreferenced) {
  MLIRContext ctx;
  ctx.loadDialect<graph::GraphDialect>();
  std::vector<float> all(64);
  std::iota(all.begin(), all.end(), 0.5f); // not a splat: those keep one element
  TempFile file(std::string(reinterpret_cast<const char *>(all.data()), all.size() * 4));
  std::string error;
  auto mapped = graph::MappedFile::open(file.path, error);
  ASSERT_TRUE(mapped);
  std::weak_ptr<graph::MappedFile> alive = mapped;
  auto type = RankedTensorType::get({8, 8}, Float32Type::get(&ctx));
  ElementsAttr w = graph::mappedConstant(type, "w", std::move(mapped), 0, 256);
  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module->getBody());
  auto constant = graph::ConstantOp::create(b, b.getUnknownLoc(), type, w);
  // Referenced: nothing is released.
  EXPECT_EQ(graph::releaseUnreferencedBlobs({module->getOperation()}), 0u);
  EXPECT_FALSE(alive.expired());
  EXPECT_EQ(graph::materializeResourceConstants(*module), 1u);
  EXPECT_TRUE(isa<DenseElementsAttr>(constant.getValue()));
  EXPECT_EQ(floatsOf(constant.getValue()), all);
  EXPECT_EQ(graph::releaseUnreferencedBlobs({module->getOperation()}), 256u);
  EXPECT_TRUE(alive.expired()) << "the file is unmapped with its last blob";
}

TEST(ConstantStorage, MissingFileIsAnError) {
  std::string error;
  EXPECT_FALSE(graph::MappedFile::open("/nonexistent/partita/weights", error));
  EXPECT_FALSE(error.empty());
}

//===----------------------------------------------------------------------===//
// ONNX wire format
//===----------------------------------------------------------------------===//

onnx::ModelProto threeInitializers() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("g");
  auto add = [&](const char *name, int type, std::string raw) {
    onnx::TensorProto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    t->add_dims(raw.size());
    t->set_raw_data(std::move(raw));
  };
  add("big", onnx::TensorProto::UINT8, std::string(5000, 'a'));
  add("small", onnx::TensorProto::UINT8, std::string(10, 'b'));
  add("bool", onnx::TensorProto::BOOL, std::string(5000, '\1'));
  add("big2", onnx::TensorProto::UINT8, std::string(4096, 'c'));
  g->add_node()->set_op_type("Identity");
  return m;
}

TEST(OnnxWire, CutsLargeRawDataAndRecordsWhereItIs) {
  onnx::ModelProto m = threeInitializers();
  std::string file = m.SerializeAsString();
  auto stripped = import::stripInitializerData(llvm::ArrayRef<char>(file.data(), file.size()), 4096);
  ASSERT_TRUE(stripped);
  ASSERT_EQ(stripped->spans.size(), 4u);
  EXPECT_EQ(stripped->spans[0].length, 5000u);
  EXPECT_EQ(stripped->spans[1].length, 0u) << "below the threshold: kept";
  EXPECT_EQ(stripped->spans[2].length, 0u) << "booleans are kept";
  EXPECT_EQ(stripped->spans[3].length, 4096u);
  EXPECT_EQ(file.substr(stripped->spans[0].offset, 5000), std::string(5000, 'a'));
  EXPECT_EQ(file.substr(stripped->spans[3].offset, 4096), std::string(4096, 'c'));
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(stripped->bytes));
  // Everything but the cut fields survives.
  onnx::ModelProto expect = m;
  expect.mutable_graph()->mutable_initializer(0)->clear_raw_data();
  expect.mutable_graph()->mutable_initializer(3)->clear_raw_data();
  EXPECT_EQ(parsed.SerializeAsString(), expect.SerializeAsString());
  EXPECT_LT(stripped->bytes.size(), file.size() - 9000);
}

TEST(OnnxWire, MalformedInputIsRefusedNotMisread) {
  std::string file = threeInitializers().SerializeAsString();
  // Every truncation either fails or (cut at a field boundary) parses
  // without reading past the end.
  for (size_t n : {size_t(1), size_t(7), file.size() / 2, file.size() - 1}) {
    auto s = import::stripInitializerData(llvm::ArrayRef<char>(file.data(), n), 4096);
    if (s) {
      for (const import::RawDataSpan &span : s->spans)
        EXPECT_LE(span.offset + span.length, n);
    }
  }
  std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  EXPECT_FALSE(import::stripInitializerData(llvm::ArrayRef<char>(garbage.data(), garbage.size()), 1));
  std::string group = "\x0b"; // field 1, wire type 3 (a group)
  EXPECT_FALSE(import::stripInitializerData(llvm::ArrayRef<char>(group.data(), group.size()), 1));
}

TEST(OnnxWire, MappedImportMatchesTheCopyingImport) {
  // A MatMul with a 128x256 f32 weight (128 KiB, mapped) and a 256 bias.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  onnx::GraphProto *g = m.mutable_graph();
  std::vector<float> w(128 * 256), bias(256);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = float(i % 97) - 48.0f;
  for (size_t i = 0; i < bias.size(); ++i)
    bias[i] = float(i) * 0.5f;
  auto addInit = [&](const char *name, std::vector<int64_t> dims, const std::vector<float> &v) {
    onnx::TensorProto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4));
  };
  addInit("w", {128, 256}, w);
  addInit("b", {256}, bias);
  auto *x = g->add_input();
  x->set_name("x");
  x->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {2, 128})
    x->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  onnx::NodeProto *mm = g->add_node();
  mm->set_op_type("MatMul");
  mm->add_input("x");
  mm->add_input("w");
  mm->add_output("h");
  onnx::NodeProto *add = g->add_node();
  add->set_op_type("Add");
  add->add_input("h");
  add->add_input("b");
  add->add_output("y");
  g->add_output()->set_name("y");
  TempFile file(m.SerializeAsString(), "onnx");

  MLIRContext ctx;
  ctx.loadDialect<graph::GraphDialect>();
  ImportOptions mappedOptions;
  mappedOptions.mapWeights = true;
  auto copied = importOnnxFile(ctx, file.path);
  auto mapped = importOnnxFile(ctx, file.path, mappedOptions);
  ASSERT_TRUE(copied && mapped);
  SmallVector<ElementsAttr> a, b;
  copied->walk([&](graph::ConstantOp c) { a.push_back(c.getValue()); });
  mapped->walk([&](graph::ConstantOp c) { b.push_back(c.getValue()); });
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  int mappedCount = 0;
  for (size_t i = 0; i < 2; ++i) {
    mappedCount += isa<DenseResourceElementsAttr>(b[i]);
    EXPECT_EQ(*graph::rawData(a[i]), *graph::rawData(b[i]));
  }
  EXPECT_EQ(mappedCount, 1) << "only the 128 KiB weight is mapped";
}

} // namespace
