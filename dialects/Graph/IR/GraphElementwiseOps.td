//===- GraphElementwiseOps.td - elementwise graph ops ----------*- tablegen -*-===//
//
// Unary ops map each element independently; binary and ternary ops broadcast
// their operands numpy-style (ONNX multidirectional broadcasting).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_GRAPH_ELEMENTWISE_OPS_TD
#define PARTITA_GRAPH_ELEMENTWISE_OPS_TD

include "dialects/Graph/IR/GraphBase.td"

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

class Graph_UnaryOp<string mnemonic, Type operandType, string desc,
                    dag extraAttrs = (ins), bit folds = 0>
    : Graph_Op<mnemonic, "inferSameAsOperand(loc, operands, results)",
               [Elementwise]> {
  let hasFolder = folds;
  let summary = desc;
  let arguments = !con((ins operandType:$input), extraAttrs);
  let results = (outs operandType:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_AbsOp : Graph_UnaryOp<"abs", Graph_Tensor, "|x|">;
def Graph_NegOp : Graph_UnaryOp<"neg", Graph_Tensor, "-x", (ins), 1>;
def Graph_SignOp : Graph_UnaryOp<"sign", Graph_Tensor, "-1, 0 or 1">;
def Graph_ReluOp : Graph_UnaryOp<"relu", Graph_Tensor, "max(x, 0)">;
def Graph_NotOp : Graph_UnaryOp<"not", Graph_BoolTensor, "logical not">;
def Graph_CeilOp : Graph_UnaryOp<"ceil", Graph_FloatTensor, "ceil(x)">;
def Graph_FloorOp : Graph_UnaryOp<"floor", Graph_FloatTensor, "floor(x)">;
def Graph_ReciprocalOp : Graph_UnaryOp<"reciprocal", Graph_FloatTensor, "1/x">;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", Graph_FloatTensor, "sqrt(x)">;
def Graph_ExpOp : Graph_UnaryOp<"exp", Graph_FloatTensor, "e^x">;
def Graph_LogOp : Graph_UnaryOp<"log", Graph_FloatTensor, "ln(x)">;
def Graph_SinOp : Graph_UnaryOp<"sin", Graph_FloatTensor, "sin(x)">;
def Graph_CosOp : Graph_UnaryOp<"cos", Graph_FloatTensor, "cos(x)">;
def Graph_TanhOp : Graph_UnaryOp<"tanh", Graph_FloatTensor, "tanh(x)">;
def Graph_ErfOp : Graph_UnaryOp<"erf", Graph_FloatTensor, "Gauss error function">;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", Graph_FloatTensor, "1/(1+e^-x)">;
def Graph_SoftplusOp : Graph_UnaryOp<"softplus", Graph_FloatTensor, "ln(1+e^x)">;
def Graph_SoftsignOp : Graph_UnaryOp<"softsign", Graph_FloatTensor, "x/(1+|x|)">;
def Graph_HardSwishOp : Graph_UnaryOp<"hard_swish", Graph_FloatTensor,
    "x * max(0, min(1, x/6 + 1/2))">;
def Graph_EluOp : Graph_UnaryOp<"elu", Graph_FloatTensor,
    "x if x >= 0 else alpha*(e^x - 1)", (ins DefaultValuedAttr<F32Attr, "1.0">:$alpha)>;
def Graph_CeluOp : Graph_UnaryOp<"celu", Graph_FloatTensor,
    "max(0,x) + min(0, alpha*(e^(x/alpha) - 1))",
    (ins DefaultValuedAttr<F32Attr, "1.0">:$alpha)>;
def Graph_SeluOp : Graph_UnaryOp<"selu", Graph_FloatTensor,
    "gamma * (x if x > 0 else alpha*(e^x - 1))",
    (ins DefaultValuedAttr<F32Attr, "1.67326319217681884765625">:$alpha,
         DefaultValuedAttr<F32Attr, "1.05070102214813232421875">:$gamma)>;
def Graph_LeakyReluOp : Graph_UnaryOp<"leaky_relu", Graph_FloatTensor,
    "x if x >= 0 else alpha*x", (ins DefaultValuedAttr<F32Attr, "0.01">:$alpha)>;
def Graph_HardSigmoidOp : Graph_UnaryOp<"hard_sigmoid", Graph_FloatTensor,
    "max(0, min(1, alpha*x + beta))",
    (ins DefaultValuedAttr<F32Attr, "0.2">:$alpha,
         DefaultValuedAttr<F32Attr, "0.5">:$beta)>;
def Graph_ThresholdedReluOp : Graph_UnaryOp<"thresholded_relu", Graph_FloatTensor,
    "x if x > alpha else 0", (ins DefaultValuedAttr<F32Attr, "1.0">:$alpha)>;
def Graph_ClipOp : Graph_UnaryOp<"clip", Graph_Tensor,
    "clamp to [min, max]; an absent bound does not clamp",
    (ins OptionalAttr<F64Attr>:$min, OptionalAttr<F64Attr>:$max)>;

def Graph_CastOp : Graph_Op<"cast", "inferCast(loc, operands, attrs, results)",
                            [Elementwise]> {
  let summary = "element type conversion (ONNX Cast semantics)";
  let arguments = (ins Graph_Tensor:$input, TypeAttr:$to);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Binary and ternary, broadcasting
//===----------------------------------------------------------------------===//

class Graph_BinaryOp<string mnemonic, Type operandType, string desc,
                     code inferCall = "inferBroadcast(loc, operands, results)",
                     dag extraAttrs = (ins), bit folds = 0>
    : Graph_Op<mnemonic, inferCall> {
  // Integer folds evaluate the shape arithmetic of exported models.
  let hasFolder = folds;
  let summary = desc;
  let arguments = !con((ins operandType:$lhs, operandType:$rhs), extraAttrs);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
}
class Graph_CompareOp<string mnemonic, string desc, bit folds = 0>
    : Graph_BinaryOp<mnemonic, Graph_Tensor, desc,
                     "inferBroadcast(loc, operands, results, /*boolResult=*/true)",
                     (ins), folds>;

def Graph_AddOp : Graph_BinaryOp<"add", Graph_Tensor, "a + b",
    "inferBroadcast(loc, operands, results)", (ins), 1>;
def Graph_SubOp : Graph_BinaryOp<"sub", Graph_Tensor, "a - b",
    "inferBroadcast(loc, operands, results)", (ins), 1>;
def Graph_MulOp : Graph_BinaryOp<"mul", Graph_Tensor, "a * b",
    "inferBroadcast(loc, operands, results)", (ins), 1>;
def Graph_DivOp : Graph_BinaryOp<"div", Graph_Tensor,
    "a / b (truncating for integers)",
    "inferBroadcast(loc, operands, results)", (ins), 1>;
def Graph_MaxOp : Graph_BinaryOp<"max", Graph_Tensor, "max(a, b)">;
def Graph_MinOp : Graph_BinaryOp<"min", Graph_Tensor, "min(a, b)">;
def Graph_ModOp : Graph_BinaryOp<"mod", Graph_Tensor,
    "remainder; sign of the divisor unless fmod (sign of the dividend)",
    "inferBroadcast(loc, operands, results)",
    (ins DefaultValuedAttr<BoolAttr, "false">:$fmod)>;
def Graph_PowOp : Graph_BinaryOp<"pow", Graph_Tensor,
    "a^b; the result has the type of the base",
    "inferBroadcast(loc, operands, results, /*boolResult=*/false, /*sameTypes=*/false)">;
def Graph_PReluOp : Graph_BinaryOp<"prelu", Graph_FloatTensor,
    "x if x >= 0 else slope*x; slope broadcasts to x",
    "inferPRelu(loc, operands, results)">;
def Graph_AndOp : Graph_BinaryOp<"and", Graph_BoolTensor, "logical and">;
def Graph_OrOp : Graph_BinaryOp<"or", Graph_BoolTensor, "logical or">;
def Graph_XorOp : Graph_BinaryOp<"xor", Graph_BoolTensor, "logical xor">;
def Graph_EqualOp : Graph_CompareOp<"equal", "a == b", 1>;
def Graph_GreaterOp : Graph_CompareOp<"greater", "a > b">;
def Graph_GreaterOrEqualOp : Graph_CompareOp<"greater_equal", "a >= b">;
def Graph_LessOp : Graph_CompareOp<"less", "a < b">;
def Graph_LessOrEqualOp : Graph_CompareOp<"less_equal", "a <= b">;

def Graph_WhereOp : Graph_Op<"where", "inferWhere(loc, operands, results)"> {
  let summary = "select x where cond else y, broadcasting all three";
  let arguments = (ins Graph_BoolTensor:$condition, Graph_Tensor:$x,
                       Graph_Tensor:$y);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = Graph_GenericFormat;
  let hasFolder = 1;
}

#endif // PARTITA_GRAPH_ELEMENTWISE_OPS_TD
