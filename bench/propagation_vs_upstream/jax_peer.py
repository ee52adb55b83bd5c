"""JAX peer for run.py: the same programs under jax.jit with NamedSharding.

Run in the bench venv with XLA_FLAGS=--xla_force_host_platform_device_count=8.
argv[1]: JSON {model, mode, dims, n, mesh: [[axis, size], ...], hlo: path}.
Prints one JSON line: {ms, counts, bytes, detail}. Nothing is materialized:
the function is lowered from ShapeDtypeStructs and compiled; collectives are
read from the compiled (post-SPMD-partitioning) HLO text.
"""

import json
import re
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as PS

ELEM = {"bf16": 2, "f16": 2, "f32": 4, "f64": 8, "s32": 4, "s64": 8, "u32": 4, "pred": 1,
        "s8": 1, "u8": 1}


def main():
    spec = json.loads(sys.argv[1])
    d = spec["dims"]
    B, S, H, NH, F = d["B"], d["S"], d["H"], d["NH"], d["F"]
    HD = H // NH
    n, model, mode = spec["n"], spec["model"], spec["mode"]
    axes = [a for a, _ in spec["mesh"]]
    shape = [s for _, s in spec["mesh"]]
    mesh = Mesh(np.array(jax.devices()[:int(np.prod(shape))]).reshape(shape), axes)
    data = "data" if mode in ("dp", "2d") else None
    tp = "model" if mode in ("megatron", "2d") else None
    dt = jnp.bfloat16

    def sds(shp, ps):
        return jax.ShapeDtypeStruct(shp, dt, sharding=NamedSharding(mesh, ps))

    rep = PS()
    col = PS(None, tp) if tp else rep
    row = PS(tp, None) if tp else rep
    x = sds((B, S, H), PS(data, None, None) if data else rep)
    layers = []
    for _ in range(n):
        w = {}
        if model == "tfm":
            for k in ("ln1g", "ln1b", "ln2g", "ln2b"):
                w[k] = sds((H,), rep)
            for k in ("wq", "wk", "wv"):
                w[k] = sds((H, H), col)
            w["wo"] = sds((H, H), row)
        w["w1"] = sds((H, F), col)
        w["w2"] = sds((F, H), row)
        layers.append(w)

    def ln(v, g, b):
        m = jnp.mean(v, axis=-1, keepdims=True)
        c = v - m
        var = jnp.mean(c * c, axis=-1, keepdims=True)
        return c * jax.lax.rsqrt(var) * g + b

    def heads(v):  # [B,S,H] -> [B,NH,S,HD]
        return v.reshape(B, S, NH, HD).transpose(0, 2, 1, 3)

    def fn(x, layers):
        for w in layers:
            if model == "tfm":
                h = ln(x, w["ln1g"], w["ln1b"])
                q, k, v = heads(h @ w["wq"]), heads(h @ w["wk"]), heads(h @ w["wv"])
                s = q @ k.transpose(0, 1, 3, 2)
                p = jax.nn.softmax(s, axis=-1)
                c = (p @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
                x = x + c @ w["wo"]
                h = ln(x, w["ln2g"], w["ln2b"])
                x = x + jax.nn.relu(h @ w["w1"]) @ w["w2"]
            else:
                x = jax.nn.relu(x @ w["w1"]) @ w["w2"]
        return x

    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(x, layers).compile()
    ms = (time.perf_counter() - t0) * 1000.0
    hlo = compiled.as_text()
    with open(spec["hlo"], "w") as f:
        f.write(hlo)
    counts, total, detail = {}, 0, []
    ndev = int(np.prod(shape))
    kinds = {"all-reduce": "all_reduce", "all-gather": "all_gather",
             "reduce-scatter": "reduce_scatter", "all-to-all": "all_to_all",
             "collective-permute": "collective_permute"}
    line_re = re.compile(r"=\s*(\(.*?\)|[a-z0-9]+\[[\d,]*\](?:\{[^}]*\})?)\s+"
                         r"(all-reduce|all-gather|reduce-scatter|all-to-all|collective-permute)"
                         r"(-start)?\(")
    shape_re = re.compile(r"([a-z0-9]+)\[([\d,]*)\]")
    for line in hlo.splitlines():
        m = line_re.search(line)
        if not m:
            continue
        shapes = []
        for ty, dims in shape_re.findall(m.group(1)):
            ne = int(np.prod([int(v) for v in dims.split(",") if v])) if dims else 1
            # Counted at the program's width (bf16): XLA:CPU upcasts bf16
            # dots to f32 and then all-reduces in f32; GPU/TPU keep bf16.
            shapes.append(ne * (2 if ty in ("bf16", "f16", "f32") else ELEM.get(ty, 4)))
        kind = kinds[m.group(2)]
        if m.group(3) and kind == "all_gather":
            size = shapes[-1]  # (operand, result) tuple: the gathered result
        elif m.group(3) and kind in ("collective_permute",):
            size = shapes[0]
        else:
            size = sum(shapes)
        g = re.search(r"replica_groups=\[(\d+),(\d+)\]<=", line)
        if g:
            gsize = int(g.group(2))
        else:
            g = re.search(r"replica_groups=\{\{([\d,]*)\}", line)
            gsize = len(g.group(1).split(",")) if g else ndev
        if kind == "reduce_scatter":
            size *= gsize  # the unscattered input
        if gsize <= 1:
            b = 0
        elif kind == "all_reduce":
            b = 2 * (gsize - 1) * size // gsize
        elif kind == "collective_permute":
            b = size
        else:
            b = (gsize - 1) * size // gsize
        counts[kind] = counts.get(kind, 0) + 1
        total += b
        detail.append("%s n=%d %s %dB" % (kind, gsize, m.group(1), b))
    print(json.dumps(dict(ms=ms, counts=counts, bytes=total, detail=detail)))


if __name__ == "__main__":
    main()
