"""from_torch: export through torch.onnx, compare with PyTorch's own output."""

import numpy as np
import pytest

import partita as pt
from partita import P

torch = pytest.importorskip("torch")


def test_from_torch_mlp():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 8))
    x = torch.randn(4, 16)
    m = pt.from_torch(net, (x,), input_names=["x"], output_names=["y"])
    pt.annotate(m, {"x": P("data", None)})
    c = pt.compile(m, mesh={"data": 2})
    assert c.plan["y"].spec == P("data", None)
    (y,) = c.run({"x": x.numpy()})
    np.testing.assert_allclose(y, net(x).detach().numpy(), rtol=1e-5, atol=1e-5)
