//===- CollectivesOps.td - the collectives dialect --------------*- tablegen -*-===//
//
// Communication between the devices of a mesh, on per-device (local)
// tensors, in SPMD form: every device runs the same op; `axes` name the mesh
// axes whose device groups communicate. Produced by sharding-partition;
// lowered to calls into the runtime's C ABI.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_COLLECTIVES_OPS_TD
#define PARTITA_COLLECTIVES_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Collectives_Dialect : Dialect {
  let name = "collectives";
  let cppNamespace = "::partita::collectives";
  let summary = "Collective communication on local tensors over mesh axes";
  let useDefaultAttributePrinterParser = 1;
  let hasCanonicalizer = 0;
}

def Collectives_ReductionKind : I32EnumAttr<"ReductionKind", "how values combine", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"max", 1>,
    I32EnumAttrCase<"min", 2>, I32EnumAttrCase<"prod", 3>]> {
  let cppNamespace = "::partita::collectives";
  let genSpecializedAttr = 0;
}
def Collectives_ReductionKindAttr
    : EnumAttr<Collectives_Dialect, Collectives_ReductionKind, "reduction">;

// Every op names its mesh and the axes that form its device groups.
class Collectives_Op<string mnemonic, list<Trait> traits = []>
    : Op<Collectives_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

def Collectives_AllReduceOp : Collectives_Op<"all_reduce",
    [AllTypesMatch<["input", "output"]>]> {
  let summary = "combine the tensors of every device in each group";
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes,
                       DefaultValuedAttr<Collectives_ReductionKindAttr,
                         "::partita::collectives::ReductionKind::sum">:$reduction);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` type($input)";
  let hasCanonicalizer = 1;
}

def Collectives_AllGatherOp : Collectives_Op<"all_gather"> {
  let summary = "concatenate the group's tensors along `dim`, in device order";
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes, I64Attr:$dim);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` functional-type($input, $output)";
  let hasCanonicalizer = 1;
}

def Collectives_ReduceScatterOp : Collectives_Op<"reduce_scatter"> {
  let summary = "all_reduce, each device keeping its block of `dim`";
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes, I64Attr:$dim,
                       DefaultValuedAttr<Collectives_ReductionKindAttr,
                         "::partita::collectives::ReductionKind::sum">:$reduction);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` functional-type($input, $output)";
}

def Collectives_AllToAllOp : Collectives_Op<"all_to_all"> {
  let summary = "split along split_dim, exchange, concatenate along concat_dim";
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes, I64Attr:$split_dim, I64Attr:$concat_dim);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` functional-type($input, $output)";
}

def Collectives_CollectivePermuteOp : Collectives_Op<"collective_permute",
    [AllTypesMatch<["input", "output"]>]> {
  let summary = "send to the device `shift` positions further along the group (a ring)";
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes, I64Attr:$shift);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` type($input)";
}

// Point to point (pipelines): not Pure -- a send has no result but must
// happen, and two receives of the same shape are different messages.
class Collectives_PointToPointOp<string mnemonic, list<Trait> traits = []>
    : Op<Collectives_Dialect, mnemonic, traits> {
  let hasVerifier = 1;
}

def Collectives_SendOp : Collectives_PointToPointOp<"send",
    [MemoryEffects<[MemWrite]>]> {
  let summary = "send to the device `shift` positions further along the group";
  let description = [{
    No wrap-around: a device whose position plus `shift` is outside its
    group sends nothing. Pairs with a `recv` of the same shift, type, mesh
    and axes on the receiving device.
  }];
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes, I64Attr:$shift);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` type($input)";
}

def Collectives_RecvOp : Collectives_PointToPointOp<"recv",
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "receive from the device `shift` positions back along the group";
  let description = [{
    The tensor a `send` of the same shift sent from position p - shift; a
    device without such a position in its group gets zeros.
  }];
  let arguments = (ins FlatSymbolRefAttr:$mesh, StrArrayAttr:$axes, I64Attr:$shift);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "`on` $mesh $axes attr-dict `:` type($output)";
}

def Collectives_AxisSliceOp : Collectives_Op<"axis_slice"> {
  let summary = "keep this device's block of `dim` (no communication)";
  let description = [{
    The input is the same on every device of the group; the result is the
    block of `dim` at this device's position in the group (row-major over
    `axes`).
  }];
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$mesh,
                       StrArrayAttr:$axes, I64Attr:$dim);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `on` $mesh $axes attr-dict `:` functional-type($input, $output)";
  let hasCanonicalizer = 1;
}

def Collectives_AxisIndexOp : Collectives_Op<"axis_index"> {
  let summary = "this device's position in its group over `axes`";
  let arguments = (ins FlatSymbolRefAttr:$mesh, StrArrayAttr:$axes);
  let results = (outs 0DTensorOf<[I64]>:$index);
  let assemblyFormat = "`on` $mesh $axes attr-dict `:` type($index)";
}

#endif // PARTITA_COLLECTIVES_OPS_TD
