"""numpy-like ops over :class:`partita.Tensor`, one per graph-dialect op.

Each function adds ONNX-named nodes (docs/json-format.md) to the tensors'
graph and takes an optional ``name=`` for its (first) output. Axes may be
negative. Composite helpers (``gelu``, ``silu``, ``linear``, ``split_heads``,
``merge_heads``) are built from primitive ops.
"""

from __future__ import annotations

import builtins
import math
from typing import Sequence

from . import _dtypes
from .graph import Tensor

__all__ = [
    # elementwise
    "abs", "neg", "sign", "relu", "ceil", "floor", "reciprocal", "sqrt", "exp", "log",
    "sin", "cos", "tanh", "erf", "sigmoid", "softplus", "softsign", "hard_swish",
    "elu", "celu", "selu", "leaky_relu", "hard_sigmoid", "thresholded_relu", "clip",
    "cast", "logical_not", "gelu", "silu", "identity",
    "add", "sub", "mul", "div", "maximum", "minimum", "mod", "pow", "prelu",
    "logical_and", "logical_or", "logical_xor", "equal", "greater", "greater_equal",
    "less", "less_equal", "where",
    # linear algebra, NN
    "matmul", "gemm", "einsum", "linear", "conv", "max_pool", "avg_pool",
    "global_avg_pool", "global_max_pool",
    # reductions, normalization
    "sum", "mean", "reduce_max", "reduce_min", "prod", "reduce_l2", "logsumexp",
    "sum_square", "argmax", "argmin", "cumsum", "softmax", "log_softmax", "topk",
    "batch_norm", "instance_norm", "layer_norm",
    # data movement
    "reshape", "transpose", "expand", "tile", "concat", "split", "slice", "pad",
    "gather", "gather_elements", "scatter_elements", "scatter_nd", "one_hot", "trilu",
    "squeeze", "unsqueeze", "flatten",
    # composites
    "attention", "split_heads", "merge_heads",
    "moe_gate", "moe_dispatch", "moe_expert_matmul", "moe_combine",
]


def _g(*xs):
    for x in xs:
        if isinstance(x, Tensor):
            return x.graph
    raise TypeError("at least one operand must be a partita Tensor")


def _like(*xs) -> Tensor:
    for x in xs:
        if isinstance(x, Tensor):
            return x
    raise TypeError("at least one operand must be a partita Tensor")


def _node(op, inputs, attrs=None, num_outputs=1, name=None):
    like = _like(*[i for i in inputs if i is not None])
    g = like.graph
    ins = [None if i is None else g._lift(i, like) for i in inputs]
    return g._node(op, ins, attrs, num_outputs, name)


def _axes(x: Tensor, axis) -> list[int]:
    if axis is None:
        return list(range(x.ndim))
    if isinstance(axis, int):
        axis = [axis]
    return [a + x.ndim if a < 0 else a for a in axis]


# -- elementwise, unary ----------------------------------------------------
def _unary(op):
    def f(x: Tensor, *, name: str | None = None) -> Tensor:
        return _node(op, [x], name=name)
    f.__name__ = op.lower()
    f.__doc__ = f"ONNX {op}, elementwise."
    return f


abs = _unary("Abs")
neg = _unary("Neg")
sign = _unary("Sign")
relu = _unary("Relu")
ceil = _unary("Ceil")
floor = _unary("Floor")
reciprocal = _unary("Reciprocal")
sqrt = _unary("Sqrt")
exp = _unary("Exp")
log = _unary("Log")
sin = _unary("Sin")
cos = _unary("Cos")
tanh = _unary("Tanh")
erf = _unary("Erf")
sigmoid = _unary("Sigmoid")
softplus = _unary("Softplus")
softsign = _unary("Softsign")
hard_swish = _unary("HardSwish")
logical_not = _unary("Not")
identity = _unary("Identity")


def elu(x, alpha=1.0, *, name=None):
    return _node("Elu", [x], {"alpha": float(alpha)}, name=name)


def celu(x, alpha=1.0, *, name=None):
    return _node("Celu", [x], {"alpha": float(alpha)}, name=name)


def selu(x, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875, *, name=None):
    return _node("Selu", [x], {"alpha": float(alpha), "gamma": float(gamma)}, name=name)


def leaky_relu(x, alpha=0.01, *, name=None):
    return _node("LeakyRelu", [x], {"alpha": float(alpha)}, name=name)


def hard_sigmoid(x, alpha=0.2, beta=0.5, *, name=None):
    return _node("HardSigmoid", [x], {"alpha": float(alpha), "beta": float(beta)}, name=name)


def thresholded_relu(x, alpha=1.0, *, name=None):
    return _node("ThresholdedRelu", [x], {"alpha": float(alpha)}, name=name)


def clip(x, min=None, max=None, *, name=None):
    attrs = {}
    if min is not None:
        attrs["min"] = float(min)
    if max is not None:
        attrs["max"] = float(max)
    return _node("Clip", [x], attrs, name=name)


def cast(x, dtype, *, name=None):
    """Converts to ``dtype`` (ONNX Cast)."""
    return _node("Cast", [x], {"to": _dtypes.onnx_code(dtype)}, name=name)


def gelu(x, approximate: str = "none", *, name=None):
    """GELU: ``0.5 x (1 + erf(x / sqrt 2))``, or the tanh approximation with
    ``approximate="tanh"`` (built from primitive ops; ONNX 17 has no Gelu)."""
    if approximate == "none":
        y = 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    elif approximate == "tanh":
        y = 0.5 * x * (1.0 + tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))))
    else:
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _named(y, name)


def silu(x, *, name=None):
    """x * sigmoid(x)."""
    return _named(x * sigmoid(x), name)


def _named(t: Tensor, name):
    if name is None:
        return t
    return identity(t, name=name)


# -- elementwise, binary ---------------------------------------------------
def _binary(op, attrs=None):
    def f(a, b, *, name: str | None = None) -> Tensor:
        return _node(op, [a, b], attrs, name=name)
    f.__name__ = op.lower()
    f.__doc__ = f"ONNX {op}, elementwise with broadcasting."
    return f


add = _binary("Add")
sub = _binary("Sub")
mul = _binary("Mul")
div = _binary("Div")
maximum = _binary("Max")
minimum = _binary("Min")
pow = _binary("Pow")
prelu = _binary("PRelu")
logical_and = _binary("And")
logical_or = _binary("Or")
logical_xor = _binary("Xor")
equal = _binary("Equal")
greater = _binary("Greater")
greater_equal = _binary("GreaterOrEqual")
less = _binary("Less")
less_equal = _binary("LessOrEqual")


def mod(a, b, *, fmod: bool | None = None, name=None):
    """Remainder; ``fmod`` (C semantics) is the default for floats."""
    like = _like(a, b)
    if fmod is None:
        fmod = _dtypes.is_float(like.dtype)
    return _node("Mod", [a, b], {"fmod": int(fmod)}, name=name)


def where(cond, a, b, *, name=None):
    return _node("Where", [cond, a, b], name=name)


# -- linear algebra, NN ----------------------------------------------------
def matmul(a, b, *, name=None):
    return _node("MatMul", [a, b], name=name)


def gemm(a, b, c=None, alpha=1.0, beta=1.0, trans_a=False, trans_b=False, *, name=None):
    return _node("Gemm", [a, b] + ([c] if c is not None else []),
                 {"alpha": float(alpha), "beta": float(beta), "transA": int(trans_a),
                  "transB": int(trans_b)}, name=name)


def einsum(equation: str, *operands, name=None):
    return _node("Einsum", list(operands), {"equation": equation}, name=name)


def linear(x, w, b=None, *, name=None):
    """``x @ w (+ b)``; ``w`` is [in, out]."""
    y = matmul(x, w, name=None if b is not None else name)
    return add(y, b, name=name) if b is not None else y


def conv(x, w, b=None, strides=None, pads=None, dilations=None, group=1, *, name=None):
    attrs = {"group": int(group)}
    if strides is not None:
        attrs["strides"] = list(strides)
    if pads is not None:
        attrs["pads"] = list(pads)
    if dilations is not None:
        attrs["dilations"] = list(dilations)
    return _node("Conv", [x, w] + ([b] if b is not None else []), attrs, name=name)


def max_pool(x, kernel_shape, strides=None, pads=None, ceil_mode=False, *, name=None):
    attrs = {"kernel_shape": list(kernel_shape), "ceil_mode": int(ceil_mode)}
    if strides is not None:
        attrs["strides"] = list(strides)
    if pads is not None:
        attrs["pads"] = list(pads)
    return _node("MaxPool", [x], attrs, name=name)


def avg_pool(x, kernel_shape, strides=None, pads=None, ceil_mode=False,
             count_include_pad=False, *, name=None):
    attrs = {"kernel_shape": list(kernel_shape), "ceil_mode": int(ceil_mode),
             "count_include_pad": int(count_include_pad)}
    if strides is not None:
        attrs["strides"] = list(strides)
    if pads is not None:
        attrs["pads"] = list(pads)
    return _node("AveragePool", [x], attrs, name=name)


def global_avg_pool(x, *, name=None):
    return _node("GlobalAveragePool", [x], name=name)


def global_max_pool(x, *, name=None):
    return _node("GlobalMaxPool", [x], name=name)


# -- reductions, normalization ---------------------------------------------
def _reduce(op):
    def f(x: Tensor, axis=None, keepdims: bool = False, *, name: str | None = None) -> Tensor:
        return _node(op, [x], {"axes": _axes(x, axis), "keepdims": int(keepdims)}, name=name)
    f.__name__ = op
    f.__doc__ = f"ONNX {op} over ``axis`` (an int, a list, or None for all)."
    return f


sum = _reduce("ReduceSum")
mean = _reduce("ReduceMean")
reduce_max = _reduce("ReduceMax")
reduce_min = _reduce("ReduceMin")
prod = _reduce("ReduceProd")
reduce_l2 = _reduce("ReduceL2")
logsumexp = _reduce("ReduceLogSumExp")
sum_square = _reduce("ReduceSumSquare")


def argmax(x, axis=0, keepdims=False, *, name=None):
    return _node("ArgMax", [x], {"axis": int(axis), "keepdims": int(keepdims)}, name=name)


def argmin(x, axis=0, keepdims=False, *, name=None):
    return _node("ArgMin", [x], {"axis": int(axis), "keepdims": int(keepdims)}, name=name)


def cumsum(x, axis, exclusive=False, reverse=False, *, name=None):
    return _node("CumSum", [x], {"axis": int(axis), "exclusive": int(exclusive),
                                 "reverse": int(reverse)}, name=name)


def softmax(x, axis=-1, *, name=None):
    return _node("Softmax", [x], {"axis": int(axis)}, name=name)


def log_softmax(x, axis=-1, *, name=None):
    return _node("LogSoftmax", [x], {"axis": int(axis)}, name=name)


def topk(x, k, axis=-1, largest=True, sorted=True, *, name=None):
    """Returns (values, indices)."""
    return _node("TopK", [x], {"k": int(k), "axis": int(axis), "largest": int(largest),
                               "sorted": int(sorted)}, num_outputs=2, name=name)


def batch_norm(x, scale, bias, mean, var, epsilon=1e-5, *, name=None):
    """Inference-mode batch normalization (ONNX BatchNormalization)."""
    return _node("BatchNormalization", [x, scale, bias, mean, var],
                 {"epsilon": float(epsilon)}, name=name)


def instance_norm(x, scale, bias, epsilon=1e-5, *, name=None):
    return _node("InstanceNormalization", [x, scale, bias], {"epsilon": float(epsilon)},
                 name=name)


def layer_norm(x, scale, bias=None, axis=-1, epsilon=1e-5, *, name=None):
    """Normalizes over the dimensions from ``axis`` on (ONNX LayerNormalization)."""
    return _node("LayerNormalization", [x, scale] + ([bias] if bias is not None else []),
                 {"axis": int(axis), "epsilon": float(epsilon)}, name=name)


# -- data movement ---------------------------------------------------------
def reshape(x, shape: Sequence[int], *, name=None):
    """numpy semantics: -1 infers one dimension (0 means size 0)."""
    return _node("Reshape", [x], {"shape": [int(d) for d in shape], "allowzero": 1}, name=name)


def transpose(x, perm: Sequence[int] | None = None, *, name=None):
    """Permutes dimensions (default: reverses them)."""
    if perm is None:
        perm = list(reversed(range(x.ndim)))
    return _node("Transpose", [x], {"perm": [p + x.ndim if p < 0 else p for p in perm]},
                 name=name)


def expand(x, shape, *, name=None):
    return _node("Expand", [x], {"shape": [int(d) for d in shape]}, name=name)


def tile(x, repeats, *, name=None):
    return _node("Tile", [x], {"repeats": [int(r) for r in repeats]}, name=name)


def concat(xs: Sequence[Tensor], axis=0, *, name=None):
    return _node("Concat", list(xs), {"axis": int(axis)}, name=name)


def split(x, sections, axis=0, *, name=None):
    """``sections``: a number of equal parts or a list of sizes. Returns a tuple."""
    size = x.shape[axis]
    if isinstance(sections, int):
        if sections <= 0 or size % sections:
            raise ValueError(f"cannot split dimension {axis} of size {size} into "
                             f"{sections} equal parts")
        sizes = [size // sections] * sections
    else:
        sizes = [int(s) for s in sections]
    out = _node("Split", [x], {"axis": int(axis), "split": sizes}, num_outputs=len(sizes),
                name=name)
    return out if isinstance(out, tuple) else (out,)


def slice(x, starts, ends, axes=None, steps=None, *, name=None):
    attrs = {"starts": [int(s) for s in starts], "ends": [int(e) for e in ends]}
    if axes is not None:
        attrs["axes"] = [int(a) for a in axes]
    if steps is not None:
        attrs["steps"] = [int(s) for s in steps]
    return _node("Slice", [x], attrs, name=name)


def pad(x, pads, mode="constant", value=0.0, *, name=None):
    """``pads``: ONNX order (all begins, then all ends)."""
    return _node("Pad", [x], {"pads": [int(p) for p in pads], "mode": mode,
                              "value": float(value)}, name=name)


def gather(x, indices, axis=0, *, name=None):
    return _node("Gather", [x, indices], {"axis": int(axis)}, name=name)


def gather_elements(x, indices, axis=0, *, name=None):
    return _node("GatherElements", [x, indices], {"axis": int(axis)}, name=name)


def scatter_elements(data, indices, updates, axis=0, reduction="none", *, name=None):
    return _node("ScatterElements", [data, indices, updates],
                 {"axis": int(axis), "reduction": reduction}, name=name)


def scatter_nd(data, indices, updates, reduction="none", *, name=None):
    return _node("ScatterND", [data, indices, updates], {"reduction": reduction}, name=name)


def one_hot(indices, depth, values, axis=-1, *, name=None):
    """``values``: a 2-element tensor [off, on]."""
    return _node("OneHot", [indices, None, values], {"depth": int(depth), "axis": int(axis)},
                 name=name)


def trilu(x, k=0, upper=True, *, name=None):
    return _node("Trilu", [x], {"k": int(k), "upper": int(upper)}, name=name)


def squeeze(x, axes=None, *, name=None):
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    return _node("Squeeze", [x], {"axes": _axes(x, axes)}, name=name)


def unsqueeze(x, axes, *, name=None):
    if isinstance(axes, int):
        axes = [axes]
    return _node("Unsqueeze", [x], {"axes": [int(a) for a in axes]}, name=name)


def flatten(x, axis=1, *, name=None):
    return _node("Flatten", [x], {"axis": int(axis)}, name=name)


# -- composites ------------------------------------------------------------
def attention(q, k, v, mask=None, scale: float | None = None, causal: bool = False, *,
              name=None):
    """``softmax(q k^T * scale (+ mask)) v`` over [..., seq, head_dim] tensors
    (the graph dialect's attention composite; scale defaults to
    1/sqrt(head_dim))."""
    attrs = {"causal": int(causal)}
    if scale is not None:
        attrs["scale"] = float(scale)
    return _node("Attention", [q, k, v] + ([mask] if mask is not None else []), attrs,
                 name=name)


def split_heads(x, heads: int, *, name=None):
    """[batch, seq, heads * d] -> [batch, heads, seq, d]."""
    b, s, d = x.shape
    if d % heads:
        raise ValueError(f"model dimension {d} is not divisible by {heads} heads")
    return transpose(reshape(x, (b, s, heads, d // heads)), (0, 2, 1, 3), name=name)


def merge_heads(x, *, name=None):
    """[batch, heads, seq, d] -> [batch, seq, heads * d]."""
    b, h, s, d = x.shape
    return reshape(transpose(x, (0, 2, 1, 3)), (b, s, h * d), name=name)


def moe_gate(logits, k: int, normalize: bool = True, *, name=None):
    """Top-k routing: returns (weights, indices) per token."""
    return _node("MoeGate", [logits], {"k": int(k), "normalize": int(normalize)},
                 num_outputs=2, name=name)


def moe_dispatch(tokens, indices, num_experts: int, capacity: int = None, *, groups: int = 1,
                 dropless: bool = False, priority=None, name=None):
    """Tokens [T, H] into per-expert slots [E, groups * capacity, H]: each
    of `groups` consecutive token groups fills its own `capacity` slots per
    expert, later assignments dropped (docs/experts.md). `dropless` sets
    capacity = T / groups (nothing drops; any groups give the same result).
    `priority` ([T, k], e.g. the gate weights) fills the slots by
    probability instead of position: the least confident assignments drop;
    give the combine the same priority."""
    attrs = {"num_experts": int(num_experts), "groups": int(groups)}
    if dropless:
        attrs["dropless"] = 1
    if capacity is not None:
        attrs["capacity"] = int(capacity)
    elif not dropless:
        raise ValueError("moe_dispatch needs a capacity, or dropless=True")
    inputs = [tokens, indices] + ([priority] if priority is not None else [])
    return _node("MoeDispatch", inputs, attrs, name=name)


def moe_expert_matmul(x, w, *, name=None):
    return _node("MoeExpertMatMul", [x, w], name=name)


def moe_combine(expert_out, weights, indices, *, groups: int = 1, priority=None, name=None):
    """Expert outputs back to tokens, weighted; `groups` and `priority` as in
    the dispatch."""
    inputs = [expert_out, weights, indices] + ([priority] if priority is not None else [])
    return _node("MoeCombine", inputs, {"groups": int(groups)}, name=name)


del builtins
