//===- JsonReader.h - tensors, shapes and shardings from JSON ---*- C++ -*-===//
//
// The pieces of the JSON importer that decode values (tensors, shapes,
// shardings) and report errors with JSON paths. Only JsonImporter.cpp
// includes this.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_JSONREADER_H
#define PARTITA_LIB_IMPORT_JSONREADER_H

#include "GraphDriver.h"
#include "JsonCommon.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <limits>

namespace partita::import::json {

using namespace mlir;

inline constexpr const char *kDtypes = "f16, bf16, f32, f64, i1 (bool), i8, i16, "
                                "i32, i64, u8, u16, u32, u64";

/// A float from a JSON number or one of the strings JSON needs for
/// non-finite values ("nan", "inf", "-inf").
inline std::optional<double> asDouble(const Json &j) {
  if (j.is_number())
    return j.get<double>();
  if (!j.is_string())
    return std::nullopt;
  const std::string &s = j.get_ref<const std::string &>();
  if (s == "nan")
    return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf" || s == "+inf")
    return std::numeric_limits<double>::infinity();
  if (s == "-inf")
    return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

inline std::optional<int64_t> asInt(const Json &j) {
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > (uint64_t)std::numeric_limits<int64_t>::max())
      return std::nullopt;
    return (int64_t)u;
  }
  if (j.is_number_integer())
    return j.get<int64_t>();
  return std::nullopt;
}

/// Decodes JSON numbers into the element type's representation, rejecting
/// values that do not fit it.
class Elements {
public:
  explicit Elements(Type elt) : elt(elt) {}

  bool add(const Json &j) {
    if (auto ft = dyn_cast<FloatType>(elt)) {
      auto v = asDouble(j);
      if (!v)
        return false;
      APFloat f(*v);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      floats.push_back(f);
      return true;
    }
    auto it = cast<IntegerType>(elt);
    unsigned w = it.getWidth();
    if (w == 1) {
      auto v = j.is_boolean() ? std::optional<int64_t>(j.get<bool>()) : asInt(j);
      if (!v || (*v != 0 && *v != 1))
        return false;
      bools.push_back(*v);
      return true;
    }
    if (it.isUnsigned()) {
      if (!j.is_number_unsigned() &&
          !(j.is_number_integer() && j.get<int64_t>() >= 0))
        return false;
      uint64_t u = j.get<uint64_t>();
      if (w < 64 && u >> w)
        return false;
      ints.push_back(APInt(w, u));
      return true;
    }
    auto v = asInt(j);
    if (!v || (w < 64 && (*v < -(int64_t(1) << (w - 1)) ||
                          *v >= (int64_t(1) << (w - 1)))))
      return false;
    ints.push_back(APInt(w, *v, /*isSigned=*/true));
    return true;
  }

  /// One added value is a splat.
  ElementsAttr build(RankedTensorType type) const {
    if (isa<FloatType>(elt))
      return DenseElementsAttr::get(type, floats);
    if (elt.isInteger(1))
      return DenseElementsAttr::get(type, bools);
    return DenseElementsAttr::get(type, ints);
  }

private:
  Type elt;
  SmallVector<APFloat> floats;
  SmallVector<APInt> ints;
  SmallVector<bool> bools;
};

/// Reads tensors, shapes and shardings, reporting errors with JSON paths.
class Reader {
public:
  Reader(MLIRContext &ctx, StringRef source, StringRef baseDir)
      : ctx(ctx), source(source.str()), baseDir(baseDir.str()),
        fileLoc(fileLocation(ctx, source)) {}

  InFlightDiagnostic error(const std::string &path) {
    return error(fileLoc, path);
  }
  InFlightDiagnostic error(Location loc, const std::string &path) {
    InFlightDiagnostic d = emitError(loc);
    d << path << ": ";
    return d;
  }

  /// Fails on keys other than `allowed` (typos would otherwise be ignored).
  LogicalResult checkKeys(const Json &obj, const std::string &path,
                          ArrayRef<StringRef> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!llvm::is_contained(allowed, StringRef(it.key()))) {
        auto d = error(path.empty() ? it.key() : path + "." + it.key());
        d << "unknown key (expected one of";
        for (StringRef a : allowed)
          d << " " << a;
        return d << ")";
      }
    return success();
  }

  FailureOr<std::string> str(const Json &obj, StringRef key,
                             const std::string &path, bool required = true) {
    auto it = obj.find(key.str());
    if (it == obj.end()) {
      if (!required)
        return std::string();
      return error(path + "." + key.str()) << "missing (expected a string)";
    }
    if (!it->is_string() || it->get_ref<const std::string &>().empty())
      return error(path + "." + key.str()) << "expected a non-empty string";
    return it->get<std::string>();
  }

  FailureOr<SmallVector<int64_t>> shape(const Json &obj, const std::string &path,
                                        Location loc) {
    auto it = obj.find("shape");
    SmallVector<int64_t> dims;
    if (it != obj.end() && it->is_array()) {
      for (const Json &d : *it) {
        auto v = asInt(d);
        if (!v || *v < 0)
          break;
        dims.push_back(*v);
      }
      if (dims.size() == it->size()) {
        // Keep element counts (and byte sizes) far from int64 overflow.
        int64_t n = 1;
        for (int64_t d : dims)
          if (d != 0 && n > (int64_t(1) << 40) / d)
            return error(loc, path + ".shape")
                   << "has more than 2^40 elements";
          else
            n *= d;
        return dims;
      }
    }
    return error(loc, path + ".shape")
           << "expected a list of non-negative integers";
  }

  FailureOr<RankedTensorType> tensorType(const Json &obj,
                                         const std::string &path,
                                         Location loc) {
    auto it = obj.find("dtype");
    if (it == obj.end() || !it->is_string())
      return error(loc, path + ".dtype")
             << "expected an element type name (" << kDtypes << ")";
    const std::string &name = it->get_ref<const std::string &>();
    Type elt = jsonElementType(&ctx, name);
    if (!elt)
      return error(loc, path + ".dtype")
             << "unknown element type '" << name << "' (expected one of "
             << kDtypes << ")";
    auto dims = shape(obj, path, loc);
    if (failed(dims))
      return failure();
    return RankedTensorType::get(*dims, elt);
  }

  /// {"dtype", "shape"} and exactly one of "data", "fill" or "file".
  FailureOr<ElementsAttr> tensor(const Json &obj, const std::string &path,
                                 Location loc) {
    auto type = tensorType(obj, path, loc);
    if (failed(type))
      return failure();
    int sources = obj.contains("data") + obj.contains("fill") + obj.contains("file");
    if (sources != 1)
      return error(loc, path) << "expected exactly one of \"data\", \"fill\" "
                                 "or \"file\"";
    Elements values(type->getElementType());
    if (auto it = obj.find("fill"); it != obj.end()) {
      if (!values.add(*it))
        return error(loc, path + ".fill") << describe(type->getElementType());
      return values.build(*type);
    }
    if (obj.contains("file"))
      return fromFile(obj, *type, path, loc);
    // A bare scalar is accepted for rank-0 tensors.
    const Json &given = *obj.find("data");
    Json wrapped;
    const Json *data = &given;
    if (!given.is_array() && type->getRank() == 0) {
      wrapped = Json::array({given});
      data = &wrapped;
    }
    if (!data->is_array())
      return error(loc, path + ".data") << "expected a flat list of numbers";
    if ((int64_t)data->size() != type->getNumElements()) {
      std::string dims;
      for (int64_t d : type->getShape())
        dims += (dims.empty() ? "" : ", ") + std::to_string(d);
      return error(loc, path + ".data")
             << "has " << data->size() << " elements but shape [" << dims
             << "] needs " << type->getNumElements();
    }
    for (auto [i, d] : llvm::enumerate(*data))
      if (!values.add(d))
        return error(loc, path + ".data[" + std::to_string(i) + "]")
               << describe(type->getElementType());
    return values.build(*type);
  }

  /// One sharding entry per dimension: null | "axis" | ["axis", ...].
  FailureOr<ArrayAttr> sharding(const Json &j, const std::string &path,
                                int64_t rank) {
    if (!j.is_array())
      return error(path) << "expected a list with one entry per dimension "
                            "(null, \"axis\" or [\"axis\", ...])";
    if (rank >= 0 && (int64_t)j.size() != rank)
      return error(path) << "has " << j.size()
                         << " entries but the tensor has rank " << rank;
    llvm::StringSet<> used;
    SmallVector<Attribute> dims;
    for (auto [i, entry] : llvm::enumerate(j)) {
      std::string at = path + "[" + std::to_string(i) + "]";
      SmallVector<Attribute> axes;
      Json list = entry.is_string() ? Json::array({entry}) : entry;
      if (!entry.is_null() && !list.is_array())
        return error(at) << "expected null, an axis name or a list of axis names";
      for (const Json &a : entry.is_null() ? Json::array() : list) {
        if (!a.is_string())
          return error(at) << "expected null, an axis name or a list of axis names";
        const std::string &name = a.get_ref<const std::string &>();
        if (!mesh.count(name)) {
          auto d = error(at) << "unknown mesh axis '" << name << "'";
          if (mesh.empty())
            return d << " (no \"mesh\" is declared)";
          d << " (the mesh declares";
          for (auto &m : meshOrder)
            d << " '" << m << "'";
          return d << ")";
        }
        if (!used.insert(name).second)
          return error(at) << "mesh axis '" << name
                           << "' is used twice in one sharding";
        axes.push_back(StringAttr::get(&ctx, name));
      }
      dims.push_back(ArrayAttr::get(&ctx, axes));
    }
    return ArrayAttr::get(&ctx, dims);
  }

  MLIRContext &ctx;
  std::string source, baseDir;
  Location fileLoc;
  llvm::StringMap<int64_t> mesh;
  std::vector<std::string> meshOrder;

private:
  static std::string describe(Type elt) {
    if (elt.isInteger(1))
      return "expected true, false, 0 or 1";
    if (isa<FloatType>(elt))
      return "expected a number, \"nan\", \"inf\" or \"-inf\"";
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "expected an integer that fits " << elt;
    return s;
  }

  /// Raw little-endian data, `file` relative to the JSON file's directory.
  FailureOr<ElementsAttr> fromFile(const Json &obj, RankedTensorType type,
                                   const std::string &path, Location loc) {
    auto file = str(obj, "file", path);
    if (failed(file))
      return failure();
    int64_t offset = 0;
    if (auto it = obj.find("offset"); it != obj.end()) {
      auto v = asInt(*it);
      if (!v || *v < 0)
        return error(loc, path + ".offset") << "expected a non-negative integer";
      offset = *v;
    }
    SmallString<256> full(*file);
    if (llvm::sys::path::is_relative(full) && !baseDir.empty()) {
      full = baseDir;
      llvm::sys::path::append(full, *file);
    }
    auto buf = llvm::MemoryBuffer::getFile(full, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
    if (!buf)
      return error(loc, path + ".file") << "cannot read '" << full
                                        << "': " << buf.getError().message();
    int64_t eltBytes = std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
    int64_t bytes = type.getNumElements() * eltBytes;
    int64_t size = (*buf)->getBufferSize();
    if (offset > size || bytes > size - offset) // no overflow for huge offsets
      return error(loc, path + ".file")
             << "'" << *file << "' has " << size << " bytes; " << type
             << " at offset " << offset << " needs " << bytes;
    ArrayRef<char> raw((*buf)->getBufferStart() + offset, bytes);
    if (type.getElementType().isInteger(1)) {
      SmallVector<bool> bits;
      for (char c : raw)
        bits.push_back(c != 0);
      return cast<ElementsAttr>(DenseElementsAttr::get(type, bits));
    }
    // The host is little-endian (x86-64, AArch64), as is the format.
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, raw));
  }
};

} // namespace partita::import::json

#endif // PARTITA_LIB_IMPORT_JSONREADER_H
