//===- ShardingOps.td - sharding ops ----------------------------*- tablegen -*-===//

#ifndef PARTITA_SHARDING_OPS_TD
#define PARTITA_SHARDING_OPS_TD

include "dialects/Sharding/IR/ShardingBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

class Sharding_Op<string mnemonic, list<Trait> traits = []>
    : Op<Sharding_Dialect, mnemonic, traits>;

def Sharding_MeshOp : Sharding_Op<"mesh", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "declares a device mesh";
  let arguments = (ins SymbolNameAttr:$sym_name, Sharding_MeshAttr:$mesh);
  let assemblyFormat = "$sym_name `=` $mesh attr-dict";
}

def Sharding_ConstraintOp : Sharding_Op<"constraint",
    [Pure, AllTypesMatch<["input", "output"]>]> {
  let summary = "pins the sharding of a value (a user annotation)";
  let arguments = (ins AnyRankedTensor:$input,
                       Sharding_TensorShardingAttr:$sharding);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input $sharding attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Sharding_ReshardOp : Sharding_Op<"reshard",
    [Pure, AllTypesMatch<["input", "output"]>]> {
  let summary = "explicit change of layout (communication happens here)";
  let arguments = (ins AnyRankedTensor:$input,
                       Sharding_TensorShardingAttr:$sharding);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input $sharding attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Sharding_ManualComputationOp : Sharding_Op<"manual_computation",
    [RecursiveMemoryEffects, SingleBlock]> {
  let summary = "a region written per device for the manual axes";
  let description = [{
    Operands and results are global tensors with the given shardings; the
    body's block arguments and returned values are the per-device (local)
    tensors: each dimension is divided by the sizes of its manual axes.
    Propagation treats the region boundary as fixed and continues inside the
    body and outside it on the other axes.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs,
                       TypedArrayAttrBase<Sharding_TensorShardingAttr, "">:$in_shardings,
                       TypedArrayAttrBase<Sharding_TensorShardingAttr, "">:$out_shardings,
                       ArrayAttr:$manual_axes);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` `in_shardings` `=` $in_shardings `out_shardings` `=`
    $out_shardings `manual_axes` `=` $manual_axes $body attr-dict
    `:` functional-type($inputs, $results)
  }];
  let hasVerifier = 1;
}

def Sharding_ReturnOp : Sharding_Op<"return",
    [Pure, Terminator, HasParent<"ManualComputationOp">]> {
  let summary = "returns the local results of a manual computation";
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // PARTITA_SHARDING_OPS_TD
