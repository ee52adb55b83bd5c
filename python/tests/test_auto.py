"""strategy="auto": the auto-planner (GLPK ILP over the cost model) chooses
the shardings; plan.cost is the cost model's prediction; the plan runs."""

import numpy as np
import pytest

import partita as pt
from partita import P

BATCH, D, HIDDEN = 64, 128, 512


def build_mlp(rng):
    g = pt.Graph("mlp")
    x = g.input("x", (BATCH, D))
    w1 = g.param("w1", rng.standard_normal((D, HIDDEN)).astype(np.float32) / np.sqrt(D))
    w2 = g.param("w2", rng.standard_normal((HIDDEN, D)).astype(np.float32) / np.sqrt(HIDDEN))
    g.output(pt.ops.relu(x @ w1, name="h") @ w2, "y")
    return g


def reference(g, x):
    return np.maximum(x @ g.params["w1"], 0) @ g.params["w2"]


def test_auto_plans_costs_and_runs(rng):
    g = build_mlp(rng)
    c = pt.compile(g, mesh={"data": 2}, strategy="auto")
    assert c.strategy == "auto"
    solver = c.plan.solver
    assert solver["status"] == "optimal" and solver["optimal"] and solver["ops"] > 0
    # The solver split the batch: each device computes half the rows with
    # whole weights, no weight communication.
    assert c.plan["h"].local_shape == (BATCH // 2, HIDDEN)
    assert c.plan["w1"].local_shape == (D, HIDDEN)
    assert "sharding.constraint" in c.mlir("annotated")
    cost = c.plan.cost
    assert cost.cluster == "cpu-local" and cost.devices == 2
    assert cost.step_time == pytest.approx(cost.compute_time + cost.comm_time)
    assert cost.compute_time > 0 and cost.flops == pytest.approx(
        2 * (BATCH // 2) * D * HIDDEN * 2, rel=0.05)
    # Memory per device: the weights (replicated) plus half the batch.
    weights = (D * HIDDEN * 2) * 4
    assert cost.parameter_memory == weights and cost.peak_memory > weights
    assert cost.fits and "step time" in str(cost)
    x = rng.standard_normal((BATCH, D)).astype(np.float32)
    want = reference(g, x)
    np.testing.assert_allclose(c.run(x)[0], want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(c.run(x, ranks=2)[0], want, rtol=1e-4, atol=1e-4)


def test_auto_keeps_annotations_as_constraints(rng):
    g = build_mlp(rng)
    pt.annotate(g, {"w1": P(None, "model")})
    c = pt.compile(g, mesh={"model": 2}, strategy="auto")
    assert c.plan["w1"].spec == P(None, "model")
    assert c.plan["h"].local_shape == (BATCH, HIDDEN // 2)
    x = rng.standard_normal((BATCH, D)).astype(np.float32)
    np.testing.assert_allclose(c.run(x, ranks=2)[0], reference(g, x), rtol=1e-4, atol=1e-4)


def test_cost_of_a_hand_written_plan(rng):
    g = build_mlp(rng)
    pt.annotate(g, {"w1": P(None, "model"), "w2": P("model", None)})
    cpu = pt.compile(g, mesh={"model": 2}).plan.cost
    gpu = pt.compile(g, mesh={"model": 2}, cluster="h100x8").plan.cost
    # Megatron: one all-reduce of y, on the cluster's link.
    assert [k["kind"] for k in cpu.collectives] == ["all_reduce"]
    assert cpu.collectives[0]["bytes"] == BATCH * D * 4
    assert cpu.comm_time > 0 and gpu.comm_time > 0
    assert gpu.cluster == "h100x8" and gpu.step_time < cpu.step_time / 10
    # The weights are split: half of them per device.
    assert cpu.parameter_memory == D * HIDDEN * 4


def test_a_mesh_larger_than_the_cluster_shares_its_devices(rng):
    c = pt.compile(build_mlp(rng), mesh={"data": 2, "model": 2}, strategy="auto")
    assert any("share them" in d["message"] for d in c.diagnostics)
    assert c.plan.cost.devices == 4
