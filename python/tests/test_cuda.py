"""compile(..., target=...): the CUDA target from Python.

Without a GPU (this machine) a CUDA run raises ExecutionError in one line,
and the CUDA target's loop mapping is checked on the CPU (target
"cuda-on-cpu") against the CPU target and numpy."""

import ctypes

import numpy as np
import pytest

import partita as pt
from partita import P

from test_mlp import build_mlp, reference


def gpu_present():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 \
        and count.value > 0


def test_cuda_mapping_on_the_cpu_matches(rng):
    g = build_mlp(rng)
    x = rng.standard_normal((8, 16)).astype(np.float32)
    [on_cpu] = pt.compile(g).run({"x": x})
    c = pt.compile(g, target="cuda-on-cpu")
    assert c.target == "cuda-on-cpu"
    [mapped] = c.run({"x": x})
    np.testing.assert_allclose(mapped, reference(g, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mapped, on_cpu, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(gpu_present(), reason="a GPU is present: the run test covers it")
def test_cuda_without_a_gpu_says_so(rng):
    c = pt.compile(build_mlp(rng), target="cuda")
    with pytest.raises(pt.ExecutionError, match=r"^no CUDA device: .+"):
        c.run({"x": np.zeros((8, 16), np.float32)})


@pytest.mark.skipif(not gpu_present(), reason="needs a GPU")
def test_cuda_on_the_gpu_matches(rng):
    g = build_mlp(rng)
    x = rng.standard_normal((8, 16)).astype(np.float32)
    [y] = pt.compile(g, target="cuda").run({"x": x})
    np.testing.assert_allclose(y, reference(g, x), rtol=1e-4, atol=1e-4)


def test_bad_targets(rng):
    g = build_mlp(rng)
    with pytest.raises(ValueError, match="unknown target 'tpu'"):
        pt.compile(g, target="tpu")
    with pytest.raises(ValueError, match="training and pipelines run on the CPU target"):
        pt.compile(g, target="cuda", loss="mean", optimizer="sgd")


def test_cuda_on_the_cpu_on_ranks(rng):
    g = build_mlp(rng)
    pt.annotate(g, {"w1": P(None, "model"), "b1": P("model"), "w2": P("model", None)})
    x = rng.standard_normal((8, 16)).astype(np.float32)
    c = pt.compile(g, mesh=pt.Mesh({"model": 2}), target="cuda-on-cpu")
    [y] = c.run({"x": x}, ranks=2)
    np.testing.assert_allclose(y, reference(g, x), rtol=1e-5, atol=1e-5)
