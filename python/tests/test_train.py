"""pt.train(): the training step from Python, checked against PyTorch."""
import numpy as np
import pytest

import partita as pt


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    g = pt.Graph("mlp")
    x = g.input("x", (8, 6))
    w1 = g.param("w1", rng.standard_normal((6, 16)).astype(np.float32) * 0.5)
    b1 = g.param("b1", np.zeros(16, np.float32))
    w2 = g.param("w2", rng.standard_normal((16, 4)).astype(np.float32) * 0.5)
    g.output(pt.ops.tanh(x @ w1 + b1) @ w2, "y")
    return g


def test_sgd_matches_numpy_reference():
    g = mlp()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 4)).astype(np.float32)
    t = pt.train(g, loss="mse", optimizer="sgd", lr=0.1)
    assert t.input_names == ["x"] and t.takes_labels
    p = {k: v.astype(np.float64) for k, v in t.parameters().items()}
    for _ in range(3):
        # The same step in numpy (f64): forward, mse, backward, SGD.
        h = np.tanh(x @ p["w1"] + p["b1"])
        out = h @ p["w2"]
        want = np.mean((out - y) ** 2)
        d_out = 2 * (out - y) / out.size
        d_h = d_out @ p["w2"].T * (1 - h * h)
        grads = {"w2": h.T @ d_out, "w1": x.T @ d_h, "b1": d_h.sum(0)}
        got = t.step({"x": x}, y)
        assert got == pytest.approx(want, rel=1e-5)
        for k in p:
            p[k] = p[k] - 0.1 * grads[k]
    for k, v in t.parameters().items():
        np.testing.assert_allclose(v, p[k], rtol=1e-5, atol=1e-6)


def test_adamw_from_torch_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.GELU(), torch.nn.Linear(12, 3))
    x = torch.randn(4, 5)
    labels = torch.tensor([0, 2, 1, 2])
    m = pt.from_torch(net, (x,), input_names=["x"], output_names=["logits"])
    t = pt.train(m, loss="cross_entropy", optimizer="adamw", lr=0.01, weight_decay=0.01)
    opt = torch.optim.AdamW(net.parameters(), lr=0.01, weight_decay=0.01)
    for _ in range(4):
        opt.zero_grad()
        want = torch.nn.functional.cross_entropy(net(x), labels)
        want.backward()
        opt.step()
        assert t.step(x.numpy(), labels.numpy()) == pytest.approx(want.item(), rel=1e-4)
    params = t.parameters()
    for name, p in net.named_parameters():
        np.testing.assert_allclose(params[name], p.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_errors():
    g = mlp()
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        pt.train(g, loss="hinge")
    with pytest.raises(ValueError, match="unknown optimizer"):
        pt.train(g, optimizer="lamb")
    t = pt.train(g, loss="mse")
    with pytest.raises(ValueError, match="takes labels"):
        t.step(np.zeros((8, 6), np.float32))
    with pytest.raises(ValueError, match="shape"):
        t.step(np.zeros((8, 6), np.float32), np.zeros((3, 4), np.float32))
    assert not pt.train(g, loss="mean").takes_labels
    with pytest.raises(pt.CompileError, match="needs a floating-point output"):
        h = pt.Graph("int_out")
        x = h.input("x", (2, 3))
        w = h.param("w", np.ones(3, np.float32))
        h.output(pt.ops.argmax(x * w, axis=1), "i")
        pt.train(h)


def test_microbatches_accumulate_like_one_big_batch():
    # Two microbatches of the model's 8 rows: rows 0, 2, 4, ... and 1, 3,
    # 5, ... of a 16-row step; with a mean loss the update equals that of
    # a 16-row model without accumulation.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.standard_normal((16, 4)).astype(np.float32)
    acc = pt.train(mlp(), loss="mse", optimizer="adamw", lr=0.05, microbatches=2)
    g16 = pt.Graph("mlp16")
    # The same parameters on a 16-row input.
    x16 = g16.input("x", (16, 6))
    p = {k: g16.param(k, v) for k, v in acc.parameters().items()}
    g16.output(pt.ops.tanh(x16 @ p["w1"] + p["b1"]) @ p["w2"], "y")
    full = pt.train(g16, loss="mse", optimizer="adamw", lr=0.05)
    for _ in range(3):
        assert acc.step({"x": x}, y) == pytest.approx(full.step({"x": x}, y), rel=1e-5)
    for k, v in acc.parameters().items():
        np.testing.assert_allclose(v, full.parameters()[k], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="microbatches must be at least 1"):
        pt.train(mlp(), loss="mse", microbatches=0)


@pytest.mark.parametrize("precision", ["bf16", "f16"])
def test_16_bit_training_stays_close_to_f32(precision):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 4)).astype(np.float32)
    f32 = pt.train(mlp(), loss="mse", optimizer="sgd", lr=0.1)
    low = pt.train(mlp(), loss="mse", optimizer="sgd", lr=0.1, precision=precision)
    for _ in range(3):
        want, got = f32.step({"x": x}, y), low.step({"x": x}, y)
        assert got == pytest.approx(want, rel=3e-2)
    # Master weights stay f32.
    assert all(v.dtype == np.float32 for v in low.parameters().values())
    with pytest.raises(ValueError, match="unknown precision"):
        pt.train(mlp(), loss="mse", precision="fp8")


def test_mesh_training_matches_one_device():
    # Data parallel on 2 MPI ranks: the same losses and trained weights as
    # one device (and the launcher's own --check says so too).
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 4)).astype(np.float32)
    one = pt.train(mlp(), loss="mse", optimizer="adamw", lr=0.05)
    want = one.fit({"x": x}, y, steps=3)
    t = pt.train(mlp(), loss="mse", optimizer="adamw", lr=0.05, mesh=pt.Mesh({"data": 2}),
                 shardings={"x": pt.P("data", None)}, zero=1, check=True)
    got = t.fit({"x": x}, y, steps=3)
    assert got == pytest.approx(want, rel=1e-5)
    for k, v in one.parameters().items():
        np.testing.assert_allclose(t.parameters()[k], v, rtol=1e-5, atol=1e-6)
    assert "parameters: OK" in t.report
    with pytest.raises(NotImplementedError, match="fit"):
        t.step({"x": x}, y)
    with pytest.raises(ValueError, match="train on a mesh"):
        pt.train(mlp(), loss="mse", zero=1)


def test_pipeline_training_matches_one_device():
    # Two pipeline stages (cut after tanh_2) on 2 MPI ranks, 4 microbatches
    # under ZB-H1: the same losses and weights as accumulating the same 4
    # microbatches on one device.
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.standard_normal((32, 4)).astype(np.float32)
    one = pt.train(mlp(), loss="mse", optimizer="adamw", lr=0.05, microbatches=4)
    want = one.fit({"x": x}, y, steps=2)
    t = pt.train(mlp(), loss="mse", optimizer="adamw", lr=0.05, microbatches=4,
                 mesh=pt.Mesh({"pipe": 2}), pipeline="pipe", stages="tanh_2",
                 schedule="zb-h1", check=True)
    got = t.fit({"x": x}, y, steps=2)
    assert got == pytest.approx(want, rel=1e-5)
    for k, v in one.parameters().items():
        np.testing.assert_allclose(t.parameters()[k], v, rtol=1e-5, atol=1e-6)
    assert "schedule zb-h1" in t.report and "parameters: OK" in t.report
    with pytest.raises(ValueError, match="not an axis of the mesh"):
        pt.train(mlp(), loss="mse", mesh=pt.Mesh({"data": 2}), pipeline="pipe")


def test_pipeline_with_data_parallel_stages_matches_one_device():
    # pipe=2 x data=2 on 4 MPI ranks: each stage's forward, backward and
    # update split over the batch, the weight gradients summed over data.
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.standard_normal((32, 4)).astype(np.float32)
    one = pt.train(mlp(), loss="mse", optimizer="sgd", momentum=0.9, lr=0.05, microbatches=4)
    want = one.fit({"x": x}, y, steps=2)
    t = pt.train(mlp(), loss="mse", optimizer="sgd", momentum=0.9, lr=0.05, microbatches=4,
                 mesh=pt.Mesh({"pipe": 2, "data": 2}), shardings={"x": ["data", None]},
                 pipeline="pipe", stages="tanh_2", check=True)
    got = t.fit({"x": x}, y, steps=2)
    assert got == pytest.approx(want, rel=1e-5)
    for k, v in one.parameters().items():
        np.testing.assert_allclose(t.parameters()[k], v, rtol=1e-5, atol=1e-6)
    assert "mesh pipe=2,data=2" in t.report and "parameters: OK" in t.report


def test_compile_with_a_loss_is_the_training_step():
    t = pt.compile(mlp(), loss="mse", optimizer="sgd", lr=0.1)
    assert isinstance(t, pt.Trainer) and t.takes_labels
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 4)).astype(np.float32)
    ref = pt.train(mlp(), loss="mse", optimizer="sgd", lr=0.1)
    assert t.step({"x": x}, y) == pytest.approx(ref.step({"x": x}, y), rel=1e-6)
    with pytest.raises(TypeError, match="without a loss"):
        pt.compile(mlp(), lr=0.1)
