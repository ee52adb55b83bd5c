"""numpy reference implementations, written independently of partita."""

import math

import numpy as np

# -- numpy references (written independently of partita) -------------------
_erf = np.vectorize(math.erf)


def np_gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def np_layer_norm(x, scale, bias, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * scale + bias


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def np_attention(q, k, v, causal):
    d = q.shape[-1]
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(d)
    if causal:
        n = s.shape[-1]
        s = np.where(np.tril(np.ones((n, n), bool)), s, -np.inf)
    return np_softmax(s) @ v


def np_block(x, p, heads):
    b, s, d = x.shape

    def split(t):
        return t.reshape(b, s, heads, d // heads).transpose(0, 2, 1, 3)

    h = np_layer_norm(x, p["ln1_scale"], p["ln1_bias"])
    a = np_attention(split(h @ p["wq"]), split(h @ p["wk"]), split(h @ p["wv"]), True)
    x = x + a.transpose(0, 2, 1, 3).reshape(b, s, d) @ p["wo"]
    h = np_layer_norm(x, p["ln2_scale"], p["ln2_bias"])
    return x + np_gelu(h @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
