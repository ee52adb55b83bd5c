"""Pipelined inference from the frontend: compile(..., pipeline=AXIS)."""

import numpy as np
import pytest

import partita as pt
from partita import P


def mlp(annotate=False):
    rng = np.random.default_rng(0)
    g = pt.Graph("mlp")
    x = g.input("x", (8, 6))
    if annotate:
        pt.shard(x, P("data", None))
    w1 = g.param("w1", rng.standard_normal((6, 16)).astype(np.float32) * 0.5)
    b1 = g.param("b1", np.zeros(16, np.float32))
    w2 = g.param("w2", rng.standard_normal((16, 4)).astype(np.float32) * 0.5)
    g.output(pt.ops.tanh(x @ w1 + b1) @ w2, "y")
    return g


def one_device(x, microbatches):
    c = pt.compile(mlp())
    rows = x.shape[0] // microbatches
    return np.concatenate([c.run({"x": x[i * rows:(i + 1) * rows]})[0]
                           for i in range(microbatches)])


def test_two_stages_match_one_device():
    # 3 microbatches of 8 rows through 2 stages on 2 MPI ranks (GPipe).
    x = np.random.default_rng(1).standard_normal((24, 6)).astype(np.float32)
    p = pt.compile(mlp(), mesh=pt.Mesh({"pipe": 2}), pipeline="pipe", stages="tanh_2",
                   microbatches=3, schedule="gpipe")
    assert isinstance(p, pt.Pipelined)
    (y,) = p.run({"x": x}, check=True)
    np.testing.assert_allclose(y, one_device(x, 3), rtol=1e-6, atol=1e-6)
    assert "ran 3 microbatches on 2 pipeline stages (mesh pipe=2, schedule gpipe)" in p.report
    assert "output 'y': OK" in p.report


def test_stages_as_spmd_programs_over_the_data_axis():
    # pipe=2 x data=2 on 4 ranks, the graph's annotation splitting the batch.
    x = np.random.default_rng(2).standard_normal((16, 6)).astype(np.float32)
    p = pt.compile(mlp(annotate=True), mesh=pt.Mesh({"pipe": 2, "data": 2}), pipeline="pipe",
                   stages="tanh_2", microbatches=2)
    (y,) = p.run({"x": x})
    np.testing.assert_allclose(y, one_device(x, 2), rtol=1e-5, atol=1e-6)
    assert "mesh pipe=2,data=2" in p.report


def test_pipeline_errors():
    with pytest.raises(ValueError, match="not an axis of the mesh"):
        pt.compile(mlp(), mesh=pt.Mesh({"data": 2}), pipeline="pipe")
    with pytest.raises(ValueError, match="microbatches must be a positive integer"):
        pt.compile(mlp(), mesh=pt.Mesh({"pipe": 2}), pipeline="pipe", microbatches=0)
    with pytest.raises(TypeError, match="take a pipeline"):
        pt.compile(mlp(), microbatches=2)
    p = pt.compile(mlp(), mesh=pt.Mesh({"pipe": 2}), pipeline="pipe", stages="tanh_2",
                   microbatches=2)
    with pytest.raises(ValueError, match="has shape"):
        p.run({"x": np.zeros((8, 6), np.float32)})  # one microbatch, not two
    bad = pt.compile(mlp(), mesh=pt.Mesh({"pipe": 2}), pipeline="pipe", stages="nope")
    with pytest.raises(pt.ExecutionError, match="no tensor named 'nope'"):
        bad.run({"x": np.zeros((8, 6), np.float32)})
