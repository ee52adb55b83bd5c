"""ONNX operator lists shared by Partita's scripts.

FOUNDATION_OPS is the set of ONNX ops the importer must handle first; the
node-test runner (scripts/onnx_node_tests.py) selects every ONNX backend node
test whose model uses only these ops.
"""

FOUNDATION_OPS = frozenset("""
Abs Add And ArgMax ArgMin AveragePool BatchNormalization Cast Ceil Celu Clip
Concat Constant ConstantOfShape Conv Cos CumSum Div Dropout Einsum Elu Equal Erf
Exp Expand Flatten Floor Gather GatherElements Gemm GlobalAveragePool
GlobalMaxPool Greater GreaterOrEqual HardSigmoid HardSwish Identity
InstanceNormalization LayerNormalization LeakyRelu Less LessOrEqual Log
LogSoftmax MatMul Max MaxPool Mean Min Mod Mul Neg Not OneHot Or Pad Pow PRelu
Range Reciprocal ReduceL2 ReduceLogSumExp ReduceMax ReduceMean ReduceMin
ReduceProd ReduceSum ReduceSumSquare Relu Reshape ScatterElements ScatterND Selu
Shape Sigmoid Sign Sin Size Slice Softmax Softplus Softsign Split Sqrt Squeeze
Sub Sum Tanh ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Where Xor
""".split())

# Default-domain spellings: ONNX's own domain is "" or "ai.onnx".
ONNX_DOMAINS = frozenset({"", "ai.onnx"})
