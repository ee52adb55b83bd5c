#!/usr/bin/python3
"""Generate Partita's embedded default model: a small 2-layer GPT decoder.

Writes the ONNX backend-test layout into OUTDIR:
  OUTDIR/model.onnx
  OUTDIR/test_data_set_0/input_0.pb    token ids, int64 [2, 16]
  OUTDIR/test_data_set_0/output_0.pb   reference logits, float32 [2, 16, 256]

The graph is spelled the way torch.onnx.export (opset 17) spells a pre-LN
GPT-2 block: Gather embeddings, LayerNormalization, MatMul+Add projections,
Reshape/Transpose into heads, MatMul/Div/Add(mask)/Softmax/MatMul attention,
GELU spelled with Erf, residual Adds, final LayerNormalization and an LM-head
MatMul. Weights come from a fixed seed and the reference logits from a numpy
implementation of the same math (float32), so the output is deterministic.

Usage: gen_gpt.py OUTDIR
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
SEED = 20240617
BATCH, SEQ, VOCAB = 2, 16, 256
D_MODEL, HEADS, D_FF, LAYERS = 64, 4, 256, 2
HEAD_DIM = D_MODEL // HEADS
LN_EPS = 1e-5
MASK_VALUE = -1e9


# ----------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------

def make_params(rng):
    """Returns an ordered dict name -> float32 array of all model weights.

    Linear weights are stored [in, out] (as exporters store the transposed
    torch weight feeding a MatMul)."""
    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    p = {}
    p["wte.weight"] = normal(VOCAB, D_MODEL, std=0.5)
    p["wpe.weight"] = normal(SEQ, D_MODEL, std=0.1)
    for i in range(LAYERS):
        pre = f"layers.{i}"
        for ln in ("ln_1", "ln_2"):
            p[f"{pre}.{ln}.weight"] = (1.0 + normal(D_MODEL, std=0.1)).astype(np.float32)
            p[f"{pre}.{ln}.bias"] = normal(D_MODEL, std=0.05)
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            p[f"{pre}.attn.{proj}.weight"] = normal(D_MODEL, D_MODEL, std=0.15)
            p[f"{pre}.attn.{proj}.bias"] = normal(D_MODEL, std=0.05)
        p[f"{pre}.mlp.fc1.weight"] = normal(D_MODEL, D_FF, std=0.15)
        p[f"{pre}.mlp.fc1.bias"] = normal(D_FF, std=0.05)
        p[f"{pre}.mlp.fc2.weight"] = normal(D_FF, D_MODEL, std=0.08)
        p[f"{pre}.mlp.fc2.bias"] = normal(D_MODEL, std=0.05)
    p["ln_f.weight"] = (1.0 + normal(D_MODEL, std=0.1)).astype(np.float32)
    p["ln_f.bias"] = normal(D_MODEL, std=0.05)
    p["lm_head.weight"] = normal(D_MODEL, VOCAB, std=0.2)
    return p


def causal_mask():
    """[SEQ, SEQ] float32: 0 on and below the diagonal, MASK_VALUE above."""
    upper = np.triu(np.ones((SEQ, SEQ), dtype=bool), k=1)
    return np.where(upper, np.float32(MASK_VALUE), np.float32(0)).astype(np.float32)


# ----------------------------------------------------------------------------
# ONNX graph
# ----------------------------------------------------------------------------

class GraphBuilder:
    """Accumulates nodes and initializers; names every node after its output."""

    def __init__(self):
        self.nodes = []
        self.initializers = []

    def const(self, name, array):
        """Adds an initializer and returns its name."""
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def scalar(self, name, value):
        """Adds a float32 scalar Constant node (as exporters emit) and returns
        its output name."""
        tensor = numpy_helper.from_array(np.array(value, dtype=np.float32), name)
        self.nodes.append(helper.make_node("Constant", [], [name], name=name,
                                           value=tensor))
        return name

    def op(self, op_type, inputs, name, **attrs):
        """Adds a single-output node named `name` whose output is `name`."""
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name

    def linear(self, x, prefix, bias=True):
        """MatMul with `prefix.weight`, then Add of `prefix.bias`."""
        y = self.op("MatMul", [x, f"{prefix}.weight"], f"{prefix}.matmul")
        if bias:
            y = self.op("Add", [y, f"{prefix}.bias"], f"{prefix}.add")
        return y

    def layer_norm(self, x, prefix):
        return self.op("LayerNormalization", [x, f"{prefix}.weight", f"{prefix}.bias"],
                       f"{prefix}.out", axis=-1, epsilon=LN_EPS)


def build_attention(g, x, pre):
    """Causal multi-head self-attention on x [B, S, D]; returns [B, S, D]."""
    heads = []
    for name in ("q", "k", "v"):
        y = g.linear(x, f"{pre}.{name}_proj")
        y = g.op("Reshape", [y, "shape.split_heads"], f"{pre}.{name}.reshape")
        heads.append(g.op("Transpose", [y], f"{pre}.{name}.transpose", perm=[0, 2, 1, 3]))
    q, k, v = heads
    kt = g.op("Transpose", [k], f"{pre}.k.transpose_t", perm=[0, 1, 3, 2])
    scores = g.op("MatMul", [q, kt], f"{pre}.scores")
    scores = g.op("Div", [scores, g.scalar(f"{pre}.scale", math.sqrt(HEAD_DIM))],
                  f"{pre}.scores_scaled")
    scores = g.op("Add", [scores, "attn.causal_mask"], f"{pre}.scores_masked")
    probs = g.op("Softmax", [scores], f"{pre}.probs", axis=-1)
    ctx = g.op("MatMul", [probs, v], f"{pre}.context")
    ctx = g.op("Transpose", [ctx], f"{pre}.context.transpose", perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, "shape.merge_heads"], f"{pre}.context.reshape")
    return g.linear(ctx, f"{pre}.out_proj")


def build_gelu(g, x, pre):
    """Exact GELU as torch exports it: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    t = g.op("Div", [x, g.scalar(f"{pre}.sqrt2", math.sqrt(2.0))], f"{pre}.div")
    t = g.op("Erf", [t], f"{pre}.erf")
    t = g.op("Add", [t, g.scalar(f"{pre}.one", 1.0)], f"{pre}.add")
    t = g.op("Mul", [x, t], f"{pre}.mul")
    return g.op("Mul", [t, g.scalar(f"{pre}.half", 0.5)], f"{pre}.out")


def build_model(params):
    """Returns the ONNX ModelProto of the decoder with `params` as initializers."""
    g = GraphBuilder()
    for name, value in params.items():
        g.const(name, value)
    g.const("attn.causal_mask", causal_mask())
    g.const("shape.split_heads", np.array([BATCH, SEQ, HEADS, HEAD_DIM], dtype=np.int64))
    g.const("shape.merge_heads", np.array([BATCH, SEQ, D_MODEL], dtype=np.int64))

    x = g.op("Gather", ["wte.weight", "input_ids"], "wte.out", axis=0)
    x = g.op("Add", [x, "wpe.weight"], "embed.out")
    for i in range(LAYERS):
        pre = f"layers.{i}"
        h = g.layer_norm(x, f"{pre}.ln_1")
        h = build_attention(g, h, f"{pre}.attn")
        x = g.op("Add", [x, h], f"{pre}.attn.residual")
        h = g.layer_norm(x, f"{pre}.ln_2")
        h = g.linear(h, f"{pre}.mlp.fc1")
        h = build_gelu(g, h, f"{pre}.mlp.gelu")
        h = g.linear(h, f"{pre}.mlp.fc2")
        x = g.op("Add", [x, h], f"{pre}.mlp.residual")
    x = g.layer_norm(x, "ln_f")
    g.nodes.append(helper.make_node("MatMul", [x, "lm_head.weight"], ["logits"],
                                    name="lm_head.matmul"))

    graph = helper.make_graph(
        g.nodes, "gpt2l",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [BATCH, SEQ])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH, SEQ, VOCAB])],
        initializer=g.initializers)
    model = helper.make_model(graph, producer_name="partita-gen_gpt",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.doc_string = ("Partita default model: 2-layer GPT decoder "
                        f"(d_model={D_MODEL}, heads={HEADS}, d_ff={D_FF}, "
                        f"vocab={VOCAB}, seq={SEQ}, batch={BATCH}), seed {SEED}")
    return model


# ----------------------------------------------------------------------------
# numpy reference (float32)
# ----------------------------------------------------------------------------

def ref_layer_norm(x, weight, bias):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + np.float32(LN_EPS))) * weight + bias


def ref_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (x * np.float32(0.5) * (1 + erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)


def ref_attention(x, p, pre):
    def heads(name):
        y = x @ p[f"{pre}.{name}_proj.weight"] + p[f"{pre}.{name}_proj.bias"]
        return y.reshape(BATCH, SEQ, HEADS, HEAD_DIM).transpose(0, 2, 1, 3)
    q, k, v = heads("q"), heads("k"), heads("v")
    scores = (q @ k.transpose(0, 1, 3, 2)) / np.float32(math.sqrt(HEAD_DIM)) + causal_mask()
    ctx = (ref_softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(BATCH, SEQ, D_MODEL)
    return ctx @ p[f"{pre}.out_proj.weight"] + p[f"{pre}.out_proj.bias"]


def reference(params, input_ids):
    """numpy forward pass of the same decoder; returns float32 logits."""
    p = params
    x = p["wte.weight"][input_ids] + p["wpe.weight"]
    for i in range(LAYERS):
        pre = f"layers.{i}"
        h = ref_layer_norm(x, p[f"{pre}.ln_1.weight"], p[f"{pre}.ln_1.bias"])
        x = x + ref_attention(h, p, f"{pre}.attn")
        h = ref_layer_norm(x, p[f"{pre}.ln_2.weight"], p[f"{pre}.ln_2.bias"])
        h = ref_gelu(h @ p[f"{pre}.mlp.fc1.weight"] + p[f"{pre}.mlp.fc1.bias"])
        x = x + (h @ p[f"{pre}.mlp.fc2.weight"] + p[f"{pre}.mlp.fc2.bias"])
    x = ref_layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])
    logits = x @ p["lm_head.weight"]
    assert logits.dtype == np.float32, logits.dtype
    return logits


# ----------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------

def check_model(model):
    """Runs the ONNX checker and strict shape inference; verifies the logits shape."""
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    out = inferred.graph.output[0].type.tensor_type
    dims = [d.dim_value for d in out.shape.dim]
    if dims != [BATCH, SEQ, VOCAB]:
        raise RuntimeError(f"inferred logits shape {dims}, expected {[BATCH, SEQ, VOCAB]}")


def write_tensor(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def generate(outdir):
    rng = np.random.default_rng(SEED)
    params = make_params(rng)
    input_ids = rng.integers(0, VOCAB, size=(BATCH, SEQ), dtype=np.int64)
    model = build_model(params)
    check_model(model)
    logits = reference(params, input_ids)

    data_dir = os.path.join(outdir, "test_data_set_0")
    os.makedirs(data_dir, exist_ok=True)
    onnx.save(model, os.path.join(outdir, "model.onnx"))
    write_tensor(os.path.join(data_dir, "input_0.pb"), input_ids, "input_ids")
    write_tensor(os.path.join(data_dir, "output_0.pb"), logits, "logits")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", help="output directory (created if missing)")
    args = parser.parse_args(argv)
    generate(args.outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
