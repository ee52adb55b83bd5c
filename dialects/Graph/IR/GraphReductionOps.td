//===- GraphReductionOps.td - reductions, normalizations, top-k -*- tablegen -*-===//

#ifndef PARTITA_GRAPH_REDUCTION_OPS_TD
#define PARTITA_GRAPH_REDUCTION_OPS_TD

include "dialects/Graph/IR/GraphBase.td"

// `axes` are non-negative, strictly increasing and in range (the importers
// normalize ONNX's negative and absent axes). An empty list reduces nothing.
class Graph_ReduceOp<string mnemonic, Type operandType, string desc>
    : Graph_Op<mnemonic, "inferReduce(loc, operands, attrs, results)", [Graph_FullPrecision]> {
  let summary = desc;
  let arguments = (ins operandType:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs operandType:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_ReduceSumOp : Graph_ReduceOp<"reduce_sum", Graph_Tensor, "sum">;
def Graph_ReduceMeanOp : Graph_ReduceOp<"reduce_mean", Graph_Tensor, "mean">;
def Graph_ReduceMaxOp : Graph_ReduceOp<"reduce_max", Graph_Tensor, "max">;
def Graph_ReduceMinOp : Graph_ReduceOp<"reduce_min", Graph_Tensor, "min">;
def Graph_ReduceProdOp : Graph_ReduceOp<"reduce_prod", Graph_Tensor, "product">;
def Graph_ReduceL2Op : Graph_ReduceOp<"reduce_l2", Graph_Tensor,
    "sqrt of the sum of squares">;
def Graph_ReduceLogSumExpOp : Graph_ReduceOp<"reduce_log_sum_exp",
    Graph_FloatTensor, "log of the sum of exponentials">;
def Graph_ReduceSumSquareOp : Graph_ReduceOp<"reduce_sum_square", Graph_Tensor,
    "sum of squares">;

class Graph_ArgOp<string mnemonic, string desc>
    : Graph_Op<mnemonic, "inferArgReduce(loc, operands, attrs, results)"> {
  let summary = desc;
  let arguments = (ins Graph_Tensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs StaticShapeTensorOf<[I64]>:$output);
  let assemblyFormat = Graph_GenericFormat;
}
def Graph_ArgMaxOp : Graph_ArgOp<"argmax", "index of the largest element">;
def Graph_ArgMinOp : Graph_ArgOp<"argmin", "index of the smallest element">;

def Graph_CumSumOp : Graph_Op<"cumsum", "inferSameWithAxis(loc, operands, attrs, results)",
                              [Graph_FullPrecision]> {
  let summary = "cumulative sum along an axis";
  let arguments = (ins Graph_Tensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                       DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

class Graph_SoftmaxLikeOp<string mnemonic, string desc>
    : Graph_Op<mnemonic, "inferSameWithAxis(loc, operands, attrs, results)",
               [Graph_FullPrecision]> {
  let summary = desc;
  let arguments = (ins Graph_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}
def Graph_SoftmaxOp : Graph_SoftmaxLikeOp<"softmax", "softmax along one axis">;
def Graph_LogSoftmaxOp : Graph_SoftmaxLikeOp<"log_softmax",
    "log of softmax along one axis">;

def Graph_TopKOp : Graph_Op<"topk", "inferTopK(loc, operands, attrs, results)"> {
  let summary = "the k largest (or smallest) elements along an axis";
  let arguments = (ins Graph_Tensor:$input, I64Attr:$k,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$largest,
                       DefaultValuedAttr<BoolAttr, "true">:$sorted);
  let results = (outs Graph_Tensor:$values, StaticShapeTensorOf<[I64]>:$indices);
  let assemblyFormat = Graph_GenericFormat;
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

def Graph_BatchNormOp : Graph_Op<"batch_norm",
    "inferBatchNorm(loc, operands, results)", [Graph_FullPrecision]> {
  let summary = "inference-mode batch normalization over dimension 1";
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       Graph_FloatTensor:$bias, Graph_FloatTensor:$mean,
                       Graph_FloatTensor:$var,
                       DefaultValuedAttr<F32Attr, "1e-5">:$epsilon);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_InstanceNormOp : Graph_Op<"instance_norm",
    "inferBatchNorm(loc, operands, results)", [Graph_FullPrecision]> {
  let summary = "normalization over the spatial dimensions per sample and channel";
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       Graph_FloatTensor:$bias,
                       DefaultValuedAttr<F32Attr, "1e-5">:$epsilon);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_LayerNormOp : Graph_Op<"layer_norm",
    "inferLayerNorm(loc, operands, attrs, results)", [Graph_FullPrecision]> {
  let summary = "normalization over the dimensions from `axis` on";
  let description = [{
    Normalizes over dimensions [axis, rank); scale (and the optional bias)
    broadcast to those trailing dimensions.
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       Optional<Graph_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1e-5">:$epsilon);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

#endif // PARTITA_GRAPH_REDUCTION_OPS_TD
