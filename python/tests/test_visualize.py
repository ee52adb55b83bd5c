import re

import numpy as np
import pytest

import partita as pt
from partita import P


def planned():
    g = pt.Graph("mlp")
    x = g.input("x", (8, 16))
    w1 = g.param("w1", np.ones((16, 32), np.float32))
    w2 = g.param("w2", np.ones((32, 16), np.float32))
    g.output(pt.ops.relu(x @ w1, name="h") @ w2, "y")
    pt.annotate(g, {"x": P("data", None), "w1": P(None, "model"), "w2": P("model", None)})
    return pt.compile(g, mesh=pt.Mesh({"data": 2, "model": 2}))


def test_text_rendering():
    c = planned()
    text = pt.visualize(c)
    assert "mesh data=2, model=2 (4 devices)" in text
    assert "device 3: data=1, model=1" in text
    # w1 is split by columns over model, replicated over data.
    assert re.search(r"\[0:16, 16:32\]\s+on devices 1,3", text)
    # h: rows over data, columns over model: one block per device.
    assert re.search(r"\[4:8, 16:32\]\s+on device 3\n", text)
    assert "all_reduce{model} of 'y'" in text
    assert pt.visualize(c.plan, tensors=["w1"]).count("on devices") == 2


def test_image(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plan.svg"
    pt.visualize(planned(), path)
    assert path.read_text().lstrip().startswith("<?xml")


def test_no_mesh_nothing_to_draw():
    g = pt.Graph("g")
    g.output(pt.ops.exp(g.input("x", (2,))), "y")
    with pytest.raises(ValueError, match="without a mesh"):
        pt.visualize(pt.compile(g))
