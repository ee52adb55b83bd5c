//===- GraphShapeOps.td - data movement and constants ----------*- tablegen -*-===//
//
// ONNX ops that only compute shapes (Shape, Size, ConstantOfShape, Range with
// constant inputs) fold into graph.constant at import; Flatten, Squeeze and
// Unsqueeze become graph.reshape. See docs/ops.md for the full mapping.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_GRAPH_SHAPE_OPS_TD
#define PARTITA_GRAPH_SHAPE_OPS_TD

include "dialects/Graph/IR/GraphBase.td"

def Graph_ConstantOp : Graph_Op<"constant", "inferConstant(loc, attrs, results)",
                                [ConstantLike]> {
  let summary = "a constant tensor (weights, folded shape computations)";
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "attr-dict `:` type($output)";
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// The ONNX/JSON initializer this constant holds, or "" for other
    /// constants: the importers locate an initializer at NAME(file:0:0)
    /// (node outputs carry their node's line).
    llvm::StringRef getInitializerName();
    /// A floating-point initializer of rank >= 1: what training updates.
    bool isTrainableInitializer();
  }];
}

def Graph_ReshapeOp : Graph_Op<"reshape", "inferReshape(loc, operands, attrs, results)"> {
  let summary = "same elements in row-major order, new static shape";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_TransposeOp : Graph_Op<"transpose", "inferTranspose(loc, operands, attrs, results)"> {
  let summary = "permutes dimensions: output dim i is input dim perm[i]";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_ExpandOp : Graph_Op<"expand", "inferExpand(loc, operands, attrs, results)"> {
  let summary = "broadcasts the input against `shape`";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_TileOp : Graph_Op<"tile", "inferTile(loc, operands, attrs, results)"> {
  let summary = "repeats the input `repeats[i]` times along dimension i";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$repeats);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_ConcatOp : Graph_Op<"concat", "inferConcat(loc, operands, attrs, results)"> {
  let summary = "joins tensors along a non-negative axis";
  let arguments = (ins Variadic<Graph_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_SplitOp : Graph_Op<"split", "inferSplit(loc, operands, attrs, results)"> {
  let summary = "splits along a non-negative axis into pieces of the given sizes";
  let arguments = (ins Graph_Tensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$split);
  let results = (outs Variadic<Graph_Tensor>:$outputs);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_SliceOp : Graph_Op<"slice", "inferSlice(loc, operands, attrs, results)"> {
  let summary = "strided slice, one (start, end, step) per dimension";
  let description = [{
    Normalized form: for each dimension, 0 <= start < dim (or start == end
    for an empty slice), and end is exclusive; a negative step walks down and
    its end may be -1 (stop after index 0). The importer converts ONNX's
    negative, clamped and partial-axes forms into this one.
  }];
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends, DenseI64ArrayAttr:$steps);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_PadOp : Graph_Op<"pad", "inferPad(loc, operands, attrs, results)"> {
  let summary = "pads (or, with negative pads, crops) every dimension";
  let description = [{
    `pads` holds the begin pads of every dimension followed by the end pads.
  }];
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<Graph_PadModeAttr,
                         "::partita::graph::PadMode::constant">:$mode,
                       DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_GatherOp : Graph_Op<"gather", "inferGather(loc, operands, attrs, results)"> {
  let summary = "takes slices along `axis` at the given (possibly negative) indices";
  let arguments = (ins Graph_Tensor:$input, Graph_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

def Graph_GatherElementsOp : Graph_Op<"gather_elements",
    "inferGatherElements(loc, operands, attrs, results)"> {
  let summary = "elementwise gather along `axis`; the result has the indices' shape";
  let arguments = (ins Graph_Tensor:$input, Graph_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_ScatterElementsOp : Graph_Op<"scatter_elements",
    "inferScatterElements(loc, operands, attrs, results)"> {
  let summary = "writes updates at per-element indices along `axis`";
  let arguments = (ins Graph_Tensor:$input, Graph_IndexTensor:$indices,
                       Graph_Tensor:$updates,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<Graph_ScatterReductionAttr,
                         "::partita::graph::ScatterReduction::none">:$reduction);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_ScatterNDOp : Graph_Op<"scatter_nd",
    "inferScatterND(loc, operands, attrs, results)"> {
  let summary = "writes update slices at index tuples";
  let arguments = (ins Graph_Tensor:$input, StaticShapeTensorOf<[I64]>:$indices,
                       Graph_Tensor:$updates,
                       DefaultValuedAttr<Graph_ScatterReductionAttr,
                         "::partita::graph::ScatterReduction::none">:$reduction);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_OneHotOp : Graph_Op<"one_hot", "inferOneHot(loc, operands, attrs, results)"> {
  let summary = "one-hot encoding with values [off, on] and a new axis of size depth";
  let arguments = (ins Graph_Tensor:$indices, Graph_Tensor:$values,
                       I64Attr:$depth, DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_TriluOp : Graph_Op<"trilu", "inferTrilu(loc, operands, results)"> {
  let summary = "keeps the upper (or lower) triangle of the last two dimensions";
  let arguments = (ins Graph_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

#endif // PARTITA_GRAPH_SHAPE_OPS_TD
