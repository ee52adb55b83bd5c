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


def test_bad_strategy_and_stage():
    with pytest.raises(ValueError, match="unknown strategy 'greedy'"):
        pt.compile(small_graph(), strategy="greedy")
    with pytest.raises(pt.CompileError, match="strategy='auto' needs a mesh"):
        pt.compile(small_graph(), strategy="auto")
    with pytest.raises(pt.CompileError, match="unknown cluster preset 'h200x9'"):
        pt.compile(small_graph(), mesh={"model": 2}, strategy="auto", cluster="h200x9")
    c = pt.compile(small_graph(), mesh={"model": 2})
    with pytest.raises(ValueError, match="unknown stage"):
        c.mlir("optimized")
    with pytest.raises(ValueError, match="'partitioned' stage needs a mesh"):
        pt.compile(small_graph()).mlir("partitioned")


def test_ranks_must_match_the_mesh():
    x = {"x": np.zeros((8, 16), np.float32)}
    c = pt.compile(small_graph(), mesh={"model": 2})
    with pytest.raises(ValueError, match=r"ranks=3 does not match the mesh .* of 2 devices"):
        c.run(x, ranks=3)
    with pytest.raises(ValueError, match="positive integer"):
        c.run(x, ranks=0)
    with pytest.raises(ValueError, match="ranks=2 needs a mesh"):
        pt.compile(small_graph()).run(x, ranks=2)
    # Bad inputs are caught before any rank starts.
    with pytest.raises(ValueError, match="shape"):
        c.run({"x": np.zeros((8, 15), np.float32)}, ranks=2)


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


def megatron_graph():
    g = small_graph()
    pt.annotate(g, {"w1": P(None, "model"), "w2": P("model", None)})
    return pt.compile(g, mesh={"model": 2})


@pytest.mark.parametrize("mode,line", [
    ("abort", r"^rank 1 failed \(SIGABRT\) in collective #1 \(all_reduce, group 0\)$"),
    ("exit", r"^rank 1 exited in collective #1 \(all_reduce, group 0\) before the run finished$"),
])
def test_a_failing_rank_raises_its_diagnostic(monkeypatch, mode, line):
    c = megatron_graph()
    # docs/runtime.md, "Faults": rank 1 fails on entering its first collective.
    monkeypatch.setenv("PARTITA_FAULT_INJECT", f"rank:1,collective:1,mode:{mode}")
    with pytest.raises(pt.ExecutionError, match=line) as e:
        c.run({"x": np.ones((8, 16), np.float32)}, ranks=2)
    assert "\n" not in str(e.value)
    assert e.value.returncode != 0
    assert any("the run on 2 ranks failed" in l for l in e.value.lines)


def test_a_stuck_rank_is_stopped(monkeypatch):
    c = megatron_graph()
    x = {"x": np.ones((8, 16), np.float32)}
    monkeypatch.setenv("PARTITA_FAULT_INJECT", "rank:0,collective:1,mode:hang")
    # The other rank's collective times out and every rank stops.
    with pytest.raises(pt.ExecutionError, match=r"rank 1: collective #1 \(all_reduce, group 0\) "
                                                 r"timed out after 1\.0 s .*rank 0 has not "
                                                 r"reached it"):
        c.run(x, ranks=2, collective_timeout=1.0)
    # Without a collective timeout, run()'s own limit stops them all.
    with pytest.raises(pt.ExecutionError, match="did not finish within 2 s"):
        c.run(x, ranks=2, collective_timeout=0, timeout=2)
    monkeypatch.delenv("PARTITA_FAULT_INJECT")
    (y,) = c.run(x, ranks=2)  # nothing left behind
    assert y.shape == (8, 16) and np.all(y == 16 * 32)
