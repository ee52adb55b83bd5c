"""Writes mixture-of-experts layers routed the way exporters write a Python
loop over experts (one NonZero per expert, docs/experts.md), in the ONNX
backend-test layout with numpy's outputs, and broken variants that must be
rejected with one diagnostic. Usage: make_routed_experts.py OUTDIR

  routed_onehot  OneHot/Transpose/Gather masks, Transpose/Split/Squeeze rows,
                 Gemm experts with biases, ScatterElements(add) onto the
                 residual (a sum that does not start at zero)
  routed_equal   Equal masks, Gather rows, MatMul + per-expert bias Add,
                 zeros + ScatterElements + Add (as torch's index_add_ exports)
  nonzero_plain  a NonZero of an ordinary comparison
  routed_mismatch  expert 1's activation differs from expert 0's
  routed_partial   a 4-expert one-hot routes to experts 0 and 1 only
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, H, F, E, K = 6, 4, 6, 4, 2
rng = np.random.default_rng(7)
X = rng.standard_normal((T, H)).astype(np.float32)
WG = rng.standard_normal((H, E)).astype(np.float32)
W1 = rng.standard_normal((E, F, H)).astype(np.float32) * 0.5   # Gemm, transB
B1 = rng.standard_normal((E, F)).astype(np.float32) * 0.1
W2 = rng.standard_normal((E, F, H)).astype(np.float32) * 0.5
B2 = rng.standard_normal((E, H)).astype(np.float32) * 0.1


def const(name, value):
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.asarray(value), name))


def gate_nodes():
    return [
        helper.make_node("MatMul", ["x", "wg"], ["logits"], name="gate"),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1, name="softmax"),
        const("k", np.array([K], np.int64)),
        helper.make_node("TopK", ["probs", "k"], ["vals", "idx"], axis=-1, name="topk"),
        const("last", np.array([-1], np.int64)),
        helper.make_node("ReduceSum", ["vals", "last"], ["vsum"], keepdims=1, name="vsum"),
        helper.make_node("Div", ["vals", "vsum"], ["w"], name="renorm"),
        const("flat", np.array([-1], np.int64)),
        helper.make_node("Reshape", ["w", "flat"], ["wflat"], name="wflat"),
        const("kk", np.array(K, np.int64)),
    ]


def expert_nodes(e, tok, slot, act="Relu", gemm=True):
    p = f"experts.{e}/"
    n = [helper.make_node("Gather", ["x", tok], [p + "in"], axis=0, name=p + "gather")]
    if gemm:
        n += [helper.make_node("Gemm", [p + "in", f"w1_{e}", f"b1_{e}"], [p + "h"],
                               transB=1, name=p + "fc1")]
    else:
        n += [const(p + "w1t", W1[e].T.copy()),
              helper.make_node("MatMul", [p + "in", p + "w1t"], [p + "hm"], name=p + "fc1"),
              helper.make_node("Add", [p + "hm", f"b1_{e}"], [p + "h"], name=p + "fc1_bias")]
    n += [helper.make_node(act, [p + "h"], [p + "a"], name=p + "act"),
          const(p + "w2t", W2[e].copy()),
          helper.make_node("MatMul", [p + "a", p + "w2t"], [p + "o"], name=p + "fc2"),
          helper.make_node("Add", [p + "o", f"b2_{e}"], [p + "o2"], name=p + "fc2_bias"),
          # weights[tok, slot] as a flat gather, the exporter's way
          helper.make_node("Mul", [tok, "kk"], [p + "tk"], name=p + "tk"),
          helper.make_node("Add", [p + "tk", slot], [p + "fi"], name=p + "fi"),
          helper.make_node("Gather", ["wflat", p + "fi"], [p + "g"], axis=0, name=p + "g"),
          const(p + "one", np.array([1], np.int64)),
          helper.make_node("Unsqueeze", [p + "g", p + "one"], [p + "rw"], name=p + "rw"),
          helper.make_node("Mul", [p + "o2", p + "rw"], [p + "y"], name=p + "weigh"),
          helper.make_node("Unsqueeze", [tok, p + "one"], [p + "tu"], name=p + "tu"),
          helper.make_node("Shape", [p + "y"], [p + "ys"], name=p + "ys"),
          helper.make_node("Expand", [p + "tu", p + "ys"], [p + "ti"], name=p + "ti")]
    return n


def onehot_rows(e):
    p = f"route.{e}/"
    return [const(p + "e", np.array(e, np.int64)),
            helper.make_node("Gather", ["mask", p + "e"], [p + "m"], axis=0, name=p + "mask"),
            helper.make_node("Cast", [p + "m"], [p + "mb"], to=TensorProto.BOOL, name=p + "cast"),
            helper.make_node("NonZero", [p + "mb"], [p + "nz"], name=p + "nonzero"),
            helper.make_node("Transpose", [p + "nz"], [p + "nzt"], perm=[1, 0], name=p + "nzt"),
            const(p + "split", np.array([1, 1], np.int64)),
            helper.make_node("Split", [p + "nzt", p + "split"], [p + "s0", p + "s1"], axis=1,
                             name=p + "split_rows"),
            const(p + "ax", np.array([1], np.int64)),
            helper.make_node("Squeeze", [p + "s0", p + "ax"], [p + "slot"], name=p + "slot"),
            helper.make_node("Squeeze", [p + "s1", p + "ax"], [p + "tok"], name=p + "tok")]


def equal_rows(e):
    p = f"route.{e}/"
    return [const(p + "e", np.array(e, np.int64)),
            helper.make_node("Equal", ["idx", p + "e"], [p + "mb"], name=p + "mask"),
            helper.make_node("NonZero", [p + "mb"], [p + "nz"], name=p + "nonzero"),
            const(p + "r0", np.array(0, np.int64)),
            const(p + "r1", np.array(1, np.int64)),
            helper.make_node("Gather", [p + "nz", p + "r0"], [p + "tok"], axis=0, name=p + "tok"),
            helper.make_node("Gather", [p + "nz", p + "r1"], [p + "slot"], axis=0, name=p + "slot")]


def inits():
    out = [numpy_helper.from_array(WG, "wg")]
    for e in range(E):
        out += [numpy_helper.from_array(W1[e], f"w1_{e}"), numpy_helper.from_array(B1[e], f"b1_{e}"),
                numpy_helper.from_array(B2[e], f"b2_{e}")]
    return out


def build(kind, experts=range(E), acts=None):
    nodes = gate_nodes()
    if kind == "onehot":
        nodes += [const("depth", np.array([E], np.int64)),
                  const("onoff", np.array([0, 1], np.int64)),
                  helper.make_node("OneHot", ["idx", "depth", "onoff"], ["oh"], axis=-1, name="onehot"),
                  helper.make_node("Transpose", ["oh"], ["mask"], perm=[2, 1, 0], name="mask")]
    acc = "x" if kind == "onehot" else "zero_start"
    if kind == "equal":
        nodes.append(const("zero_start", np.zeros((T, H), np.float32)))
    for e in experts:
        act = (acts or {}).get(e, "Relu")
        nodes += onehot_rows(e) if kind == "onehot" else equal_rows(e)
        p, r = f"experts.{e}/", f"route.{e}/"
        nodes += expert_nodes(e, r + "tok", r + "slot", act=act, gemm=kind == "onehot")
        nxt = f"acc{e}"
        if kind == "onehot":
            nodes.append(helper.make_node("ScatterElements", [acc, p + "ti", p + "y"], [nxt],
                                          axis=0, reduction="add", name=p + "index_add"))
        else:
            nodes += [const(p + "zeros", np.zeros((T, H), np.float32)),
                      helper.make_node("ScatterElements", [p + "zeros", p + "ti", p + "y"],
                                       [p + "sc"], axis=0, name=p + "scatter"),
                      helper.make_node("Add", [acc, p + "sc"], [nxt], name=p + "accumulate")]
        acc = nxt
    nodes.append(helper.make_node("Identity", [acc], ["y"], name="out"))
    g = helper.make_graph(nodes, "routed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, H])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [T, H])],
                          initializer=inits())
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


def reference(start_at_x):
    logits = X @ WG
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    idx = np.argsort(-p, axis=-1, kind="stable")[:, :K]
    vals = np.take_along_axis(p, idx, -1)
    w = vals / vals.sum(-1, keepdims=True)
    out = X.copy() if start_at_x else np.zeros_like(X)
    for t in range(T):
        for j in range(K):
            e = idx[t, j]
            h = np.maximum(X[t] @ W1[e].T + B1[e], 0)
            out[t] += w[t, j] * (h @ W2[e] + B2[e])
    return out.astype(np.float32)


def save_case(out, name, m, expected):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    for f, (arr, n) in (("input_0.pb", (X, "x")), ("output_0.pb", (expected, "y"))):
        with open(os.path.join(d, "test_data_set_0", f), "wb") as fh:
            fh.write(numpy_helper.from_array(arr, n).SerializeToString())


def main(out):
    os.makedirs(out, exist_ok=True)
    save_case(out, "routed_onehot", build("onehot"), reference(start_at_x=True))
    save_case(out, "routed_equal", build("equal"), reference(start_at_x=False))
    onnx.save(build("equal", acts={1: "Sigmoid"}), os.path.join(out, "routed_mismatch.onnx"))
    onnx.save(build("onehot", experts=[0, 1]), os.path.join(out, "routed_partial.onnx"))
    nodes = [const("zero", np.array(0, np.float32)),
             helper.make_node("Greater", ["x", "zero"], ["pos"], name="positive"),
             helper.make_node("NonZero", ["pos"], ["y"], name="where_positive")]
    g = helper.make_graph(nodes, "plain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, H])],
                          [helper.make_tensor_value_info("y", TensorProto.INT64, [2, None])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]),
              os.path.join(out, "nonzero_plain.onnx"))


if __name__ == "__main__":
    main(sys.argv[1])
