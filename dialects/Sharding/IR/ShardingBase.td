//===- ShardingBase.td - sharding dialect and attributes -------*- tablegen -*-===//

#ifndef PARTITA_SHARDING_BASE_TD
#define PARTITA_SHARDING_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Sharding_Dialect : Dialect {
  let name = "sharding";
  let cppNamespace = "::partita::sharding";
  let summary = "Device meshes, tensor shardings and explicit reshards";
  let description = [{
    See docs/design/sharding.md. A tensor sharding names, per dimension, the
    mesh axes it is split over and whether propagation may add more.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
}

class Sharding_Attr<string name, string attrMnemonic>
    : AttrDef<Sharding_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def Sharding_MeshAttr : Sharding_Attr<"Mesh", "mesh"> {
  let summary = "named mesh axes with sizes, major to minor";
  let parameters = (ins ArrayRefParameter<"::mlir::StringAttr">:$names,
                        ArrayRefParameter<"int64_t">:$sizes);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The size of axis `name`, or nullopt if the mesh has no such axis.
    std::optional<int64_t> getAxisSize(::llvm::StringRef name) const;
    int64_t getNumDevices() const;
  }];
}

def Sharding_DimShardingAttr : Sharding_Attr<"DimSharding", "dim"> {
  let summary = "the mesh axes one tensor dimension is split over";
  let parameters = (ins ArrayRefParameter<"::mlir::StringAttr">:$axes,
                        "bool":$closed);
  let hasCustomAssemblyFormat = 1;
}

def Sharding_TensorShardingAttr : Sharding_Attr<"TensorSharding", "tensor"> {
  let summary = "how a tensor is laid out over a mesh";
  let parameters = (ins "::mlir::FlatSymbolRefAttr":$mesh,
                        ArrayRefParameter<"DimShardingAttr">:$dims,
                        ArrayRefParameter<"::mlir::StringAttr">:$replicated,
                        ArrayRefParameter<"::mlir::StringAttr">:$unreduced,
                        "int64_t":$priority);
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    /// True if the attribute carries a user priority.
    bool hasPriority() const { return getPriority() >= 0; }
    /// Every axis the sharding uses (dims, then unreduced).
    ::llvm::SmallVector<::mlir::StringAttr> getUsedAxes() const;
  }];
}

#endif // PARTITA_SHARDING_BASE_TD
