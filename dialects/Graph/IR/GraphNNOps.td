//===- GraphNNOps.td - contractions, convolution, pooling -------*- tablegen -*-===//

#ifndef PARTITA_GRAPH_NN_OPS_TD
#define PARTITA_GRAPH_NN_OPS_TD

include "dialects/Graph/IR/GraphBase.td"

def Graph_MatMulOp : Graph_Op<"matmul", "inferMatMul(loc, operands, results)"> {
  let summary = "numpy matmul: batched, broadcasting batch dimensions";
  let arguments = (ins Graph_Tensor:$lhs, Graph_Tensor:$rhs);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_GemmOp : Graph_Op<"gemm", "inferGemm(loc, operands, attrs, results)"> {
  let summary = "alpha * op(A) * op(B) + beta * C";
  let arguments = (ins Graph_Tensor:$a, Graph_Tensor:$b,
                       Optional<Graph_Tensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$transA,
                       DefaultValuedAttr<BoolAttr, "false">:$transB);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_EinsumOp : Graph_Op<"einsum", "inferEinsum(loc, operands, attrs, results)"> {
  let summary = "Einstein summation";
  let description = [{
    The equation follows ONNX/numpy (`ij,jk->ik`, `...` for broadcast
    dimensions); an equation without `->` sums the labels that appear twice.
  }];
  let arguments = (ins Variadic<Graph_Tensor>:$inputs, StrAttr:$equation);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_ConvOp : Graph_Op<"conv", "inferConv(loc, operands, attrs, results)"> {
  let summary = "N-d grouped convolution (NCHW, weights MCkHkW)";
  let description = [{
    `pads` holds the begin pads of every spatial dimension followed by the end
    pads; ONNX auto_pad is resolved into explicit pads by the importer.
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Optional<Graph_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_AveragePoolOp : Graph_Op<"average_pool",
    "inferPool(loc, operands, attrs, results)"> {
  let summary = "average pooling over the spatial dimensions";
  let arguments = (ins Graph_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

def Graph_MaxPoolOp : Graph_Op<"max_pool",
    "inferPool(loc, operands, attrs, results)"> {
  let summary = "max pooling over the spatial dimensions";
  let arguments = (ins Graph_Tensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}

class Graph_GlobalPoolOp<string mnemonic, string desc>
    : Graph_Op<mnemonic, "inferGlobalPool(loc, operands, results)"> {
  let summary = desc;
  let arguments = (ins Graph_FloatTensor:$input);
  let results = (outs Graph_FloatTensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}
def Graph_GlobalAveragePoolOp : Graph_GlobalPoolOp<"global_average_pool",
    "mean over all spatial dimensions (kept as size 1)">;
def Graph_GlobalMaxPoolOp : Graph_GlobalPoolOp<"global_max_pool",
    "max over all spatial dimensions (kept as size 1)">;

#endif // PARTITA_GRAPH_NN_OPS_TD
