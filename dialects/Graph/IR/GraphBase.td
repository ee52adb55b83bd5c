//===- GraphBase.td - graph dialect, types and op base classes -*- tablegen -*-===//
//
// The graph dialect holds tensor programs close to ONNX semantics on ranked,
// statically shaped tensors. Every op infers its result types (the importers
// rely on it to give every value a static shape) and the verifier checks the
// declared types against the inferred ones.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_GRAPH_BASE_TD
#define PARTITA_GRAPH_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let cppNamespace = "::partita::graph";
  let summary = "Tensor programs on static shapes, close to ONNX semantics";
  let description = [{
    Ops take and produce ranked tensors with static shapes. Attribute names
    follow ONNX where an ONNX op exists, so that the JSON graph IR and the ONNX
    importer share one vocabulary. Inputs that determine shapes in ONNX
    (Reshape's shape, Slice's starts, ...) are attributes here: the importers
    specialize them from constants.
  }];
  // Inherent attributes stay in the attribute dictionary: the importers build
  // ops generically from (name, operands, attributes) and infer result types
  // through InferTypeOpInterface with that dictionary.
  let usePropertiesForAttributes = 0;
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

defvar Graph_ElementTypes = [F16, BF16, F32, F64, I1, I8, I16, I32, I64,
                             UI8, UI16, UI32, UI64];
def Graph_Tensor : StaticShapeTensorOf<Graph_ElementTypes>;
def Graph_FloatTensor : StaticShapeTensorOf<[F16, BF16, F32, F64]>;
def Graph_BoolTensor : StaticShapeTensorOf<[I1]>;
def Graph_IntTensor : StaticShapeTensorOf<[I8, I16, I32, I64, UI8, UI16, UI32, UI64]>;
def Graph_IndexTensor : StaticShapeTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Graph_PadMode : I32EnumAttr<"PadMode", "padding mode", [
    I32EnumAttrCase<"constant", 0>, I32EnumAttrCase<"reflect", 1>,
    I32EnumAttrCase<"edge", 2>, I32EnumAttrCase<"wrap", 3>]> {
  let cppNamespace = "::partita::graph";
  let genSpecializedAttr = 0;
}
def Graph_PadModeAttr : EnumAttr<Graph_Dialect, Graph_PadMode, "pad_mode">;

def Graph_ScatterReduction : I32EnumAttr<"ScatterReduction",
    "how scattered updates combine with existing values", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"add", 1>,
    I32EnumAttrCase<"mul", 2>, I32EnumAttrCase<"max", 3>,
    I32EnumAttrCase<"min", 4>]> {
  let cppNamespace = "::partita::graph";
  let genSpecializedAttr = 0;
}
def Graph_ScatterReductionAttr
    : EnumAttr<Graph_Dialect, Graph_ScatterReduction, "reduction">;

//===----------------------------------------------------------------------===//
// Op base classes
//===----------------------------------------------------------------------===//

// Every graph op is pure and infers its result types. `inferCall` is a C++
// expression evaluated inside the generated inferReturnTypes; it may use
// `loc` (std::optional<Location>), `operands` (ValueRange), `attrs`
// (DictionaryAttr) and must fill `results`. The helpers live in
// GraphInference.h.
// Computed in f32 under mixed precision (graph-autodiff precision=bf16):
// statistics, normalizations and softmax, as PyTorch autocast's float32
// list keeps them (dialects/Graph/IR/GraphTraits.h).
def Graph_FullPrecision : NativeOpTrait<"FullPrecision"> {
  let cppNamespace = "::partita::graph::OpTrait";
}

class Graph_Op<string mnemonic, code inferCall, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic,
         !listconcat(traits, [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])> {
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, ::std::optional<::mlir::Location> loc,
        ::mlir::ValueRange operands, ::mlir::DictionaryAttr attrs,
        ::mlir::OpaqueProperties, ::mlir::RegionRange,
        ::llvm::SmallVectorImpl<::mlir::Type> &results) {
      (void)context;
      return }] # inferCall # [{;
    }
  }];
}

// Generic printed form shared by ops without a more specific format.
defvar Graph_GenericFormat =
    "operands attr-dict `:` functional-type(operands, results)";

#endif // PARTITA_GRAPH_BASE_TD
