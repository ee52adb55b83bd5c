"""Mixture of experts from Python (docs/experts.md): a block with GShard's
groups and a capacity that drops assignments computes what numpy computes
for the same groups, on one device and with its tokens split over 2 ranks
(each rank dispatching its own group)."""

import numpy as np
import pytest

import partita as pt
from partita import CompileError
from partita import P

T, H, F, E, K = 8, 4, 6, 4, 2
GROUPS, CAPACITY = 2, 1  # 4 tokens per group, 1 slot per expert and group


def build(rng, groups=GROUPS, capacity=CAPACITY, dropless=False, by_probability=False):
    g = pt.Graph("moe")
    x = g.input("x", (T, H))
    wg = g.param("router", rng.standard_normal((H, E)).astype(np.float32))
    w1 = g.param("w1", rng.standard_normal((E, H, F)).astype(np.float32) * 0.5)
    w2 = g.param("w2", rng.standard_normal((E, F, H)).astype(np.float32) * 0.5)
    w, idx = pt.ops.moe_gate(pt.ops.matmul(x, wg), K)
    priority = w if by_probability else None
    d = pt.ops.moe_dispatch(x, idx, E, None if dropless else capacity, groups=groups,
                            dropless=dropless, priority=priority)
    h = pt.ops.relu(pt.ops.moe_expert_matmul(d, w1))
    y = pt.ops.moe_combine(pt.ops.moe_expert_matmul(h, w2), w, idx, groups=groups,
                           priority=priority)
    g.output(y, "y")
    return g


def reference(g, x, groups=GROUPS, capacity=CAPACITY, by_probability=False):
    """Per group, assignments in (token, choice) order -- or by descending
    gate weight, ties in that order, `by_probability` -- take the next free
    slot of their expert; past the capacity they are dropped."""
    p = g.params
    logits = x @ p["router"]
    prob = np.exp(logits - logits.max(-1, keepdims=True))
    prob /= prob.sum(-1, keepdims=True)
    idx = np.argsort(-prob, axis=-1, kind="stable")[:, :K]
    w = np.take_along_axis(prob, idx, -1)
    w /= w.sum(-1, keepdims=True)
    out = np.zeros_like(x)
    per_group = T // groups
    for grp in range(groups):
        used = np.zeros(E, int)
        order = [(t, j) for t in range(grp * per_group, (grp + 1) * per_group)
                 for j in range(K)]
        if by_probability:
            order.sort(key=lambda tj: -w[tj])  # stable: ties keep (t, j) order
        for t, j in order:
            e = idx[t, j]
            if used[e] < capacity:
                used[e] += 1
                out[t] += w[t, j] * (np.maximum(x[t] @ p["w1"][e], 0) @ p["w2"][e])
    return out


def test_groups_and_capacity_match_numpy(rng):
    g = build(rng)
    x = rng.standard_normal((T, H)).astype(np.float32)
    want = reference(g, x)
    # Something was dropped, and differently than with one group.
    assert not np.allclose(want, reference(g, x, groups=1, capacity=CAPACITY * GROUPS))
    np.testing.assert_allclose(pt.compile(g).run(x)[0], want, rtol=1e-5, atol=1e-5)
    pt.annotate(g, {"x": P("expert", None)})
    c = pt.compile(g, mesh={"expert": 2})
    np.testing.assert_allclose(c.run(x, ranks=2)[0], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("experts", ["expert", "auto", {"axis": "expert", "ffn": "model"}])
def test_experts_split_by_name_or_by_cost(rng, experts):
    # Expert parallelism folded over the tokens' axis; "auto" prices every
    # assignment on the cluster (cpu-local) and says which it took.
    g = build(rng)
    x = rng.standard_normal((T, H)).astype(np.float32)
    want = reference(g, x)
    pt.annotate(g, {"x": P("expert", None)})
    mesh = {"expert": 2, "model": 2} if isinstance(experts, dict) else {"expert": 2}
    c = pt.compile(g, mesh=mesh, experts=experts)
    if experts == "auto":
        assert "experts: auto on 'cpu-local': " in str(c.plan)
    ranks = 4 if isinstance(experts, dict) else 2
    np.testing.assert_allclose(c.run(x, ranks=ranks)[0], want, rtol=1e-5, atol=1e-5)


def test_bad_experts_are_refused(rng):
    g = build(rng)
    with pytest.raises(ValueError, match="expected a mesh axis, 'auto'"):
        pt.compile(g, mesh={"expert": 2}, experts=3)
    with pytest.raises(CompileError, match="names axis 'nope'"):
        pt.compile(g, mesh={"expert": 2}, experts="nope")


def test_dropping_by_probability_matches_numpy(rng):
    # The most confident assignments keep their slots: not the result of
    # dropping by position, the same on one device and on 2 ranks (one
    # group each), and training through it matches one device.
    g = build(rng, by_probability=True)
    x = rng.standard_normal((T, H)).astype(np.float32)
    want = reference(g, x, by_probability=True)
    assert not np.allclose(want, reference(g, x))
    np.testing.assert_allclose(pt.compile(g).run(x)[0], want, rtol=1e-5, atol=1e-5)
    pt.annotate(g, {"x": P("expert", None)})
    c = pt.compile(g, mesh={"expert": 2})
    np.testing.assert_allclose(c.run(x, ranks=2)[0], want, rtol=1e-5, atol=1e-5)
    one = pt.train(g, loss="mean", output="y", optimizer="sgd", lr=0.5).fit({"x": x}, steps=3)
    assert one[0] != one[-1]
    got = pt.train(g, loss="mean", output="y", optimizer="sgd", lr=0.5,
                   mesh=pt.Mesh({"expert": 2}), shardings={"x": P("expert", None)},
                   check=True).fit({"x": x}, steps=3)
    assert got == pytest.approx(one, rel=1e-5)


def test_a_priority_is_shaped_like_the_indices(rng):
    g = pt.Graph("bad_priority")
    x = g.input("x", (T, H))
    idx = g.input("idx", (T, K), dtype="i64")
    p = g.input("p", (T, K + 1))
    with pytest.raises(CompileError, match="priority shaped like the indices"):
        pt.ops.moe_dispatch(x, idx, E, 2, priority=p)


def test_dropless_is_the_same_for_any_groups(rng):
    g1, g4 = (build(np.random.default_rng(3), groups=n, dropless=True) for n in (1, 4))
    x = rng.standard_normal((T, H)).astype(np.float32)
    want = reference(g1, x, groups=1, capacity=T)
    for g in (g1, g4):
        np.testing.assert_allclose(pt.compile(g).run(x)[0], want, rtol=1e-5, atol=1e-5)


def test_a_dispatch_needs_a_capacity():
    g = pt.Graph("bad")
    x = g.input("x", (T, H))
    idx = g.input("idx", (T, K), dtype="i64")
    with pytest.raises(ValueError, match="needs a capacity, or dropless=True"):
        pt.ops.moe_dispatch(x, idx, E)


def aux_graph(rng, groups=1):
    """A MoE block whose output is a scalar: the mean of its output plus
    0.01 times the load-balancing loss."""
    g = pt.Graph("moe_aux")
    x = g.input("x", (T, H))
    wg = g.param("router", rng.standard_normal((H, E)).astype(np.float32))
    w1 = g.param("w1", rng.standard_normal((E, H, F)).astype(np.float32) * 0.5)
    w2 = g.param("w2", rng.standard_normal((E, F, H)).astype(np.float32) * 0.5)
    logits = pt.ops.matmul(x, wg)
    w, idx = pt.ops.moe_gate(logits, K)
    d = pt.ops.moe_dispatch(x, idx, E, dropless=True, groups=groups)
    h = pt.ops.relu(pt.ops.moe_expert_matmul(d, w1))
    y = pt.ops.moe_combine(pt.ops.moe_expert_matmul(h, w2), w, idx, groups=groups)
    aux = pt.nn.moe_load_balancing_loss(logits, idx, E)
    z = pt.nn.moe_router_z_loss(logits)
    g.output(aux, "aux")
    g.output(z, "z")
    g.output(pt.ops.mean(y) + aux * 0.01 + z * 0.001, "loss")
    return g


def aux_reference(g, x):
    logits = x @ g.params["router"]
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    idx = np.argsort(-p, axis=-1, kind="stable")[:, :K]
    f = np.bincount(idx.ravel(), minlength=E) / (T * K)
    return E * np.sum(f * p.mean(0))


def z_reference(g, x):
    logits = (x @ g.params["router"]).astype(np.float64)
    m = logits.max(-1, keepdims=True)
    z = np.log(np.exp(logits - m).sum(-1)) + m[:, 0]
    return np.mean(z * z)


def test_router_losses_are_global_over_split_tokens(rng):
    g = aux_graph(rng)
    x = rng.standard_normal((T, H)).astype(np.float32)
    want, want_z = aux_reference(g, x), z_reference(g, x)
    got = pt.compile(g).run(x)
    np.testing.assert_allclose(got[0], want, rtol=1e-5)
    np.testing.assert_allclose(got[1], want_z, rtol=1e-5)
    # Tokens split over 2 ranks: the counts, mean probabilities and the
    # z-loss's mean are reduced over them, so each rank's value is global.
    pt.annotate(g, {"x": P("data", None)})
    got = pt.compile(g, mesh={"data": 2}).run(x, ranks=2)
    np.testing.assert_allclose(got[0], want, rtol=1e-5)
    np.testing.assert_allclose(got[1], want_z, rtol=1e-5)


@pytest.mark.parametrize("groups", [1, 2])
def test_training_with_the_load_balancing_loss_matches_one_device(rng, groups):
    # Tokens split over data=2: with 2 groups each rank dispatches its own;
    # with one (dropless) the training step keeps it (its backward reads the
    # same slots), and the tokens are gathered for the dispatch.
    g = aux_graph(rng, groups)
    x = rng.standard_normal((T, H)).astype(np.float32)
    one = pt.train(g, loss="sum", output="loss", optimizer="sgd", lr=0.5)
    want = one.fit({"x": x}, steps=3)
    assert want[0] != want[-1]
    got = pt.train(g, loss="sum", output="loss", optimizer="sgd", lr=0.5,
                   mesh=pt.Mesh({"data": 2}), shardings={"x": P("data", None)},
                   check=True).fit({"x": x}, steps=3)
    assert got == pytest.approx(want, rel=1e-5)
