"""Loaded ONNX models: annotate by name, plan on data=2, run, check."""

import os

import numpy as np
import pytest

import partita as pt
from partita import P

onnx = pytest.importorskip("onnx")
from onnx import helper, numpy_helper, TensorProto  # noqa: E402

NODE_DIR = "/usr/share/libonnx-testdata/data/node"


def make_mlp_onnx(path, rng):
    w1 = rng.standard_normal((8, 16)).astype(np.float32)
    w2 = rng.standard_normal((16, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["h0"]),
         helper.make_node("Relu", ["h0"], ["h"]),
         helper.make_node("MatMul", ["h", "W2"], ["y"])],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return w1, w2


def test_onnx_data_parallel(tmp_path, rng):
    path = str(tmp_path / "mlp.onnx")
    w1, w2 = make_mlp_onnx(path, rng)
    m = pt.load_onnx(path)
    assert [t.name for t in m.inputs] == ["x"] and m.outputs[0].shape == (4, 4)
    assert m.tensors["W1"].kind == "parameter"
    pt.annotate(m, {"x": P("data", None)})
    c = pt.compile(m, mesh=pt.Mesh({"data": 2}))
    assert c.plan.reshards == []
    assert c.plan["y"].spec == P("data", None) and c.plan["h"].local_shape == (2, 16)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    (y,) = c.run({"x": x})
    np.testing.assert_allclose(y, np.maximum(x @ w1, 0) @ w2, rtol=1e-5, atol=1e-5)
    # On 2 ranks: each holds 2 rows of x and computes its 2 rows of y, no
    # collective in between; the gathered result is the single-device one.
    spmd = c.mlir("partitioned")
    assert "tensor<2x8xf32>" in spmd and "collectives.all_" not in spmd
    (y2,) = c.run([x], ranks=2)
    np.testing.assert_allclose(y2, y, rtol=1e-6, atol=1e-6)


def test_onnx_megatron_by_name(tmp_path, rng):
    path = str(tmp_path / "mlp.onnx")
    w1, w2 = make_mlp_onnx(path, rng)
    m = pt.annotate(pt.load_onnx(path), {"W1": P(None, "model"), "W2": P("model", None)})
    c = pt.compile(m, mesh={"model": 2})
    assert c.plan.count("all_reduce") == 1
    x = rng.standard_normal((4, 8)).astype(np.float64)  # cast to f32 like run()
    (y,) = c.run({"x": x}, ranks=2)
    np.testing.assert_allclose(y, np.maximum(x @ w1, 0) @ w2, rtol=1e-5, atol=1e-5)


def _backend_case(name):
    d = os.path.join(NODE_DIR, name)
    if not os.path.isdir(d):
        pytest.skip("libonnx-testdata not installed")
    return d


def _load_pb(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


@pytest.mark.parametrize("case,mesh", [
    ("test_gemm_default_vector_bias", {"data": 2}),            # a: [2, 7] split on data
    ("test_gemm_default_single_elem_vector_bias", None),       # a: [3, 7]: no even split
])
def test_onnx_backend_test_gemm(case, mesh):
    d = _backend_case(case)
    m = pt.load_onnx(os.path.join(d, "model.onnx"))
    names = [t.name for t in m.inputs]
    inputs = {n: _load_pb(os.path.join(d, "test_data_set_0", f"input_{i}.pb"))
              for i, n in enumerate(names)}
    want = _load_pb(os.path.join(d, "test_data_set_0", "output_0.pb"))
    if mesh:
        pt.annotate(m, {"a": P("data", None)})
    c = pt.compile(m, mesh=mesh)
    if mesh:
        assert c.plan["a"].spec == P("data", None) and c.plan["a"].local_shape == (1, 7)
        assert c.plan.reshards == []
    (y,) = c.run(inputs)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_onnx_to_json_round_trip(tmp_path, rng):
    path = str(tmp_path / "mlp.onnx")
    make_mlp_onnx(path, rng)
    text = pt.load_onnx(path).to_json()
    assert '"format": "partita.graph"' in text or '"format":"partita.graph"' in text
