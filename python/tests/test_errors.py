"""Every documented error path raises the documented exception, carrying
the compiler's diagnostic (message and location)."""

import os

import numpy as np
import pytest

import partita as pt
from partita import P


def small_graph():
    g = pt.Graph("mlp")
    x = g.input("x", (8, 16))
    w1 = g.param("w1", np.ones((16, 32), np.float32))
    w2 = g.param("w2", np.ones((32, 16), np.float32))
    g.output(pt.ops.relu(x @ w1) @ w2, "y")
    return g


def test_bad_op_shapes_point_at_the_python_line():
    g = pt.Graph("bad")
    x = g.input("x", (8, 16))
    w = g.param("w", np.ones((15, 4), np.float32))
    with pytest.raises(pt.CompileError) as e:
        x @ w  # noqa: B018  (this line is in the location)
    assert "test_errors.py:" in e.value.location and "MatMul" in e.value.location
    assert "16" in e.value.message and "15" in e.value.message
    assert e.value.diagnostics and e.value.diagnostics[0]["severity"] == "error"


def test_bad_reshape():
    g = pt.Graph("bad")
    x = g.input("x", (8, 16))
    with pytest.raises(pt.CompileError, match="(?i)reshape|element"):
        x.reshape(7, 16)


def test_mixed_dtypes():
    g = pt.Graph("bad")
    x = g.input("x", (4,), "f32")
    i = g.input("i", (4,), "i64")
    with pytest.raises(pt.CompileError):
        x + i


def test_unknown_axis():
    g = small_graph()
    pt.annotate(g, {"w1": P(None, "modle")})
    with pytest.raises(pt.CompileError, match="unknown axis \"modle\"") as e:
        pt.compile(g, mesh={"model": 2})
    assert "w1" in e.value.location


def test_spec_rank_mismatch():
    g = small_graph()
    pt.annotate(g, {"w1": P(None, "model", None)})
    with pytest.raises(pt.CompileError, match="3 dimensions"):
        pt.compile(g, mesh={"model": 2})


def test_split_must_divide():
    g = pt.Graph("odd")
    x = g.input("x", (3, 4))
    g.output(pt.ops.exp(x), "y")
    pt.shard(x, P("model", None))
    with pytest.raises(pt.CompileError, match="not divisible by 2"):
        pt.compile(g, mesh={"model": 2})


def test_unknown_tensor_name_in_graph():
    g = small_graph()
    with pytest.raises(pt.CompileError, match="no tensor named 'w3'.*did you mean .*'w1'"):
        pt.annotate(g, {"w3": P(None, "model")})


def test_unknown_tensor_name_in_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    path = str(tmp_path / "relu.onnx")
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    m = pt.load_onnx(path)
    with pytest.raises(pt.CompileError, match="no tensor named 'z'"):
        pt.annotate(m, {"z": P(None)})


def test_annotations_need_a_mesh():
    g = small_graph()
    pt.annotate(g, {"w1": P(None, "model")})
    with pytest.raises(pt.CompileError, match="need a mesh"):
        pt.compile(g)


def test_strategy_auto_is_not_implemented():
    with pytest.raises(pt.NotImplementedYetError, match="auto-planner") as e:
        pt.compile(small_graph(), mesh={"model": 2}, strategy="auto")
    assert isinstance(e.value, NotImplementedError)
    with pytest.raises(ValueError, match="unknown strategy"):
        pt.compile(small_graph(), strategy="greedy")


def test_multi_rank_run_is_not_implemented():
    c = pt.compile(small_graph(), mesh={"model": 2})
    with pytest.raises(NotImplementedError, match="issue 5"):
        c.run({"x": np.zeros((8, 16), np.float32)}, ranks=2)
    with pytest.raises(pt.NotImplementedYetError, match="partitioner"):
        c.mlir("partitioned")
    with pytest.raises(ValueError, match="unknown stage"):
        c.mlir("optimized")


def test_bad_run_inputs():
    c = pt.compile(small_graph())
    with pytest.raises(ValueError, match="shape"):
        c.run({"x": np.zeros((8, 15), np.float32)})
    with pytest.raises(ValueError, match="missing input 'x'"):
        c.run({})
    with pytest.raises(ValueError, match="unknown input 'z'"):
        c.run({"x": np.zeros((8, 16), np.float32), "z": 1})
    with pytest.raises(ValueError, match="dtype"):
        c.run({"x": np.zeros((8, 16), np.complex64)})


def test_bad_onnx_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00not a model")
    m = pt.load_onnx(str(path))
    with pytest.raises(pt.CompileError) as e:
        pt.compile(m)
    assert "junk.onnx" in str(e.value)
    with pytest.raises(FileNotFoundError):
        pt.load_onnx(str(tmp_path / "missing.onnx"))


def test_graph_without_outputs():
    g = pt.Graph("empty")
    g.input("x", (2,))
    with pytest.raises(pt.CompileError, match="no outputs"):
        pt.compile(g)


def test_builder_misuse():
    g = pt.Graph("g")
    x = g.input("x", (2,))
    with pytest.raises(ValueError, match="already has a tensor named 'x'"):
        g.input("x", (2,))
    with pytest.raises(ValueError, match="at least one axis"):
        pt.Mesh({})
    with pytest.raises(ValueError, match="positive"):
        pt.Mesh({"data": 0})
    with pytest.raises(TypeError):
        P(3)
    other = pt.Graph("other").input("y", (2,))
    with pytest.raises(ValueError, match="belongs to graph"):
        x + other
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0.0)
