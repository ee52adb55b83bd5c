//===- Importer.h - ONNX and JSON graph importers ---------------*- C++ -*-===//
//
// Both importers produce a module with one `func.func @main` in the graph
// dialect: graph inputs are function arguments, weights are graph.constant
// ops, graph outputs are the returned values. Every value has a static shape.
// Tensor names survive as locations: an op's location is
// NameLoc(<output name>, FileLineColLoc(<file>, <node index + 1>, 0)) (a
// FusedLoc of NameLocs for multi-output nodes), and arguments and results
// carry a `graph.name` attribute.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_IMPORT_IMPORTER_H
#define PARTITA_IMPORT_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace partita {

struct ImportOptions {
  /// Concrete shapes for inputs whose ONNX shape has dynamic dimensions.
  llvm::StringMap<std::vector<int64_t>> inputShapes;
  /// Dynamic dimensions without an entry in inputShapes become this size.
  int64_t defaultDynamicDim = 1;
  /// Print a warning for each dynamic dimension specialized by default.
  bool warnOnDynamicDims = true;
  /// Concrete values for graph inputs. An input whose value determines a
  /// shape (Reshape's shape, Slice's starts, ...) is specialized to it: the
  /// argument stays, tagged `graph.specialized = <value>`. Importing an ONNX
  /// backend-test directory fills this from test_data_set_0/input_K.pb.
  llvm::StringMap<mlir::DenseElementsAttr> inputValues;
  /// ONNX files: read initializers of at least kMappedWeightBytes (and
  /// external data) in place from a read-only mapping of the file instead
  /// of copying them; their constants are resource blobs
  /// (dialects/Graph/IR/ConstantStorage.h). A rank imports this way and
  /// then reads only its blocks of each weight.
  bool mapWeights = false;
  /// Training: floating-point values are not folded at import, so that an
  /// initializer read through a Reshape, Gather, Slice, ... stays a
  /// parameter (graph-autodiff trains initializers). Integer shape
  /// arithmetic still folds.
  bool keepFloatInitializers = false;
};

/// The smallest initializer ImportOptions::mapWeights maps (smaller ones,
/// shape vectors and biases, are copied as usual).
constexpr uint64_t kMappedWeightBytes = 64 * 1024;

/// Reads one serialized ONNX TensorProto (.pb) as a dense attribute.
mlir::FailureOr<mlir::DenseElementsAttr>
readOnnxTensorFile(mlir::MLIRContext &ctx, llvm::StringRef path);

/// Imports an ONNX model file (or an ONNX backend-test directory holding
/// model.onnx). Returns null after emitting diagnostics on failure.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxFile(mlir::MLIRContext &ctx, llvm::StringRef path,
               const ImportOptions &options = {});

/// Imports an ONNX model from serialized protobuf bytes; `sourceName` names
/// it in diagnostics and anchors relative external-data paths.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxBytes(mlir::MLIRContext &ctx, llvm::StringRef bytes,
                llvm::StringRef sourceName, const ImportOptions &options = {});

/// Imports a Partita JSON graph (docs/json-format.md).
mlir::OwningOpRef<mlir::ModuleOp>
importJsonFile(mlir::MLIRContext &ctx, llvm::StringRef path,
               const ImportOptions &options = {});
mlir::OwningOpRef<mlir::ModuleOp>
importJsonText(mlir::MLIRContext &ctx, llvm::StringRef text,
               llvm::StringRef sourceName, const ImportOptions &options = {});

/// Writes the module's @main function as a Partita JSON graph. Fails with a
/// diagnostic for ops that have no JSON spelling.
mlir::LogicalResult exportJson(mlir::ModuleOp module, llvm::raw_ostream &os);

/// A new value for one initializer (ONNX) or parameter (JSON graph): its
/// name and its bytes, little-endian, in the initializer's own element type
/// and element count.
struct InitializerValue {
  std::string name;
  llvm::ArrayRef<uint8_t> bytes;
};

/// Writes the model `modelPath` (.onnx or a Partita .json graph) to
/// `outPath` (the same kind) with the named initializers' data replaced by
/// `values` and everything else as it was: the trained model, loadable by
/// every tool that read the original. Fails with a one-line `error`.
mlir::LogicalResult saveModelWithInitializers(llvm::StringRef modelPath,
                                              llvm::StringRef outPath,
                                              llvm::ArrayRef<InitializerValue> values,
                                              std::string &error);

/// The ONNX op types the importers accept, sorted.
std::vector<std::string> supportedOnnxOps();

} // namespace partita

#endif // PARTITA_IMPORT_IMPORTER_H

namespace partita {
/// Loads any model input by its kind: a directory or `.onnx` (ONNX), `.json`
/// (Partita JSON graph), `.mlir` (parsed and verified). Null after a
/// diagnostic on failure.
mlir::OwningOpRef<mlir::ModuleOp> loadModelFile(mlir::MLIRContext &ctx,
                                                llvm::StringRef path,
                                                const ImportOptions &options = {});
} // namespace partita
