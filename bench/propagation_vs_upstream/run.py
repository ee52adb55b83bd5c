#!/usr/bin/env python3
"""Partita sharding propagation vs upstream MLIR `shard` vs JAX (optional).

Generates the same N-layer MLP and transformer-like programs
  (a) in Partita's graph dialect with `sharding` annotations,
  (b) as linalg on tensors with upstream MLIR `shard` annotations,
  (c) as jax.jit functions with NamedSharding (optional peer),
runs each tool, times it, and counts the collectives each implies per step
and the bytes they move (per rank; see README.md for the convention).

Exit status: 0 when every check passes, 1 when one fails (the table is
printed and written to bench/out/propagation.md first), 2 on a tool error.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "bench", "out")

ELEM_BYTES = 2  # bf16 everywhere
DT = "bf16"

# ----------------------------------------------------------------------------
# Problem definitions
# ----------------------------------------------------------------------------

DIMS = {
    # Small: quick correctness checks (every dimension divides every mesh).
    "small": dict(B=8, S=16, H=64, NH=8, F=256),
    # GPT-3 175B: h=12288, 96 heads (head dim 128), seq 2048, ffn 4h.
    "gpt3": dict(B=8, S=2048, H=12288, NH=96, F=4 * 12288),
}

MESHES = {
    "dp": [("data", 8)],
    "megatron": [("model", 8)],
    "2d": [("data", 2), ("model", 4)],
}


def annotations(mode):
    """Which inputs are annotated: batch of x (dp), weights (megatron)."""
    return ("data" if mode in ("dp", "2d") else None,
            "model" if mode in ("megatron", "2d") else None)


def prod(xs):
    r = 1
    for x in xs:
        r *= x
    return r


def ttype(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + DT + ">"


# ----------------------------------------------------------------------------
# (a) Partita graph dialect
# ----------------------------------------------------------------------------


def partita_program(model, mode, dims, n):
    B, S, H, NH, F = dims["B"], dims["S"], dims["H"], dims["NH"], dims["F"]
    HD = H // NH
    mesh = MESHES[mode]
    data, tp = annotations(mode)
    args, body, names = [], [], {}

    def sh(dimaxes):
        return ("#sharding.tensor<@mesh, [" +
                ", ".join("{" + ", ".join('"%s"' % a for a in d) + "}" for d in dimaxes) + "]>")

    def arg(name, shape, dimaxes=None):
        attrs = ['graph.name = "%s"' % name]
        if dimaxes is not None:
            attrs.append("sharding.sharding = " + sh(dimaxes))
        args.append("%%%s: %s {%s}" % (name.replace(".", "_"), ttype(shape), ", ".join(attrs)))
        return "%" + name.replace(".", "_"), shape

    def op(name, text, operands, shape, attrs=""):
        ins = ", ".join(o[0] for o in operands)
        types = ", ".join(ttype(o[1]) for o in operands)
        v = "%" + name.replace(".", "_")
        names[v] = name
        if text in ("relu",):
            body.append('  %s = graph.%s %s%s : %s loc("%s")' % (v, text, ins, attrs, ttype(shape), name))
        else:
            body.append('  %s = graph.%s %s%s : (%s) -> %s loc("%s")'
                        % (v, text, ins, attrs, types, ttype(shape), name))
        return v, shape

    x = arg("x", [B, S, H], [[data] if data else [], [], []] if data else None)
    col = [[], [tp]] if tp else None
    row = [[tp], []] if tp else None
    for l in range(n):
        p = "l%d." % l
        if model == "tfm":
            g1 = arg(p + "ln1.g", [H]); b1 = arg(p + "ln1.b", [H])
            wq = arg(p + "wq", [H, H], col); wk = arg(p + "wk", [H, H], col)
            wv = arg(p + "wv", [H, H], col); wo = arg(p + "wo", [H, H], row)
            g2 = arg(p + "ln2.g", [H]); b2 = arg(p + "ln2.b", [H])
        w1 = arg(p + "w1", [H, F], col)
        w2 = arg(p + "w2", [F, H], row)
        if model == "tfm":
            ln = op(p + "ln1", "layer_norm", [x, g1, b1], [B, S, H])

            def heads(w, nm, perm, shape):
                m = op(p + nm, "matmul", [ln, w], [B, S, H])
                r = op(p + nm + ".reshape", "reshape", [m], [B, S, NH, HD],
                       " {shape = array<i64: %d, %d, %d, %d>}" % (B, S, NH, HD))
                return op(p + nm + ".transpose", "transpose", [r], shape,
                          " {perm = array<i64: %s>}" % ", ".join(map(str, perm)))
            q = heads(wq, "q", [0, 2, 1, 3], [B, NH, S, HD])
            kt = heads(wk, "k", [0, 2, 3, 1], [B, NH, HD, S])
            v = heads(wv, "v", [0, 2, 1, 3], [B, NH, S, HD])
            s = op(p + "scores", "matmul", [q, kt], [B, NH, S, S])
            pr = op(p + "probs", "softmax", [s], [B, NH, S, S], " {axis = 3 : i64}")
            c = op(p + "context", "matmul", [pr, v], [B, NH, S, HD])
            ct = op(p + "context.transpose", "transpose", [c], [B, S, NH, HD],
                    " {perm = array<i64: 0, 2, 1, 3>}")
            cr = op(p + "context.reshape", "reshape", [ct], [B, S, H],
                    " {shape = array<i64: %d, %d, %d>}" % (B, S, H))
            o = op(p + "attn_out", "matmul", [cr, wo], [B, S, H])
            x = op(p + "residual1", "add", [x, o], [B, S, H])
            ln2 = op(p + "ln2", "layer_norm", [x, g2, b2], [B, S, H])
            h = op(p + "fc1", "matmul", [ln2, w1], [B, S, F])
            r = op(p + "relu", "relu", [h], [B, S, F])
            y = op(p + "fc2", "matmul", [r, w2], [B, S, H])
            x = op(p + "residual2", "add", [x, y], [B, S, H])
        else:
            h = op(p + "fc1", "matmul", [x, w1], [B, S, F])
            r = op(p + "relu", "relu", [h], [B, S, F])
            x = op(p + "fc2", "matmul", [r, w2], [B, S, H])
    mesh_txt = ", ".join('"%s"=%d' % (a, s) for a, s in mesh)
    text = ("sharding.mesh @mesh = <[%s]>\n" % mesh_txt +
            "func.func @main(%s) -> %s {\n" % (",\n    ".join(args), ttype(x[1])) +
            "\n".join(body) + "\n  return %s : %s\n}\n" % (x[0], ttype(x[1])))
    return text, names.get(x[0], "x")


# ----------------------------------------------------------------------------
# (b) linalg on tensors + upstream shard dialect
# ----------------------------------------------------------------------------

LETTERS = "bnsdkhfij"


def amap(rank, idx):
    ds = ["d%d" % i for i in range(rank)]
    return "affine_map<(%s) -> (%s)>" % (", ".join(ds), ", ".join("d%d" % i for i in idx))


def linalg_program(model, mode, dims, n):
    B, S, H, NH, F = dims["B"], dims["S"], dims["H"], dims["NH"], dims["F"]
    HD = H // NH
    mesh = MESHES[mode]
    axis_index = {a: i for i, (a, _) in enumerate(mesh)}
    data, tp = annotations(mode)
    args, body = [], []
    counter = [0]

    def fresh(prefix="v"):
        counter[0] += 1
        return "%%%s%d" % (prefix, counter[0])

    def shard(v, shape, split):
        """shard.shard v to <split> (a per-dimension list of axis names)."""
        s = fresh("s")
        axes = "[" + ", ".join("[" + ", ".join(str(axis_index[a]) for a in d) + "]"
                               for d in split) + "]"
        body.append("  %s = shard.sharding @grid split_axes = %s : !shard.sharding" % (s, axes))
        r = fresh("a")
        body.append("  %s = shard.shard %s to %s : %s" % (r, v, s, ttype(shape)))
        return r, shape

    def arg(name, shape, split=None):
        v = "%" + name.replace(".", "_")
        args.append("%s: %s" % (v, ttype(shape)))
        if split is not None:
            return shard(v, shape, split)
        return v, shape

    def generic(ins, out_shape, iters, maps, out_map, kind):
        """ins: list of (value, shape); maps: per input tuple of loop indices."""
        rank = len(iters)
        e = fresh("e")
        body.append("  %s = tensor.empty() : %s" % (e, ttype(out_shape)))
        r = fresh()
        in_vals = ", ".join(v for v, _ in ins)
        in_types = ", ".join(ttype(s) for _, s in ins)
        all_maps = ", ".join(amap(rank, m) for m in list(maps) + [out_map])
        its = ", ".join('"%s"' % it for it in iters)
        bargs = ", ".join("%%in%d: %s" % (i, DT) for i in range(len(ins))) + ", %%out: %s" % DT
        if kind == "mac":
            ops = ["%m = arith.mulf %in0, %in1 : " + DT, "%y = arith.addf %m, %out : " + DT]
        elif kind == "sum":
            ops = ["%y = arith.addf %in0, %out : " + DT]
        elif kind == "sumsq":
            ops = ["%m = arith.mulf %in0, %in0 : " + DT, "%y = arith.addf %m, %out : " + DT]
        elif kind == "relu":
            ops = ["%y = arith.maximumf %in0, %zero : " + DT]
        elif kind == "add":
            ops = ["%y = arith.addf %in0, %in1 : " + DT]
        elif kind == "center":
            ops = ["%m = arith.mulf %in1, %invh : " + DT, "%y = arith.subf %in0, %m : " + DT]
        elif kind == "norm":
            ops = ["%m = arith.mulf %in1, %invh : " + DT, "%r = math.rsqrt %m : " + DT,
                   "%t = arith.mulf %in0, %r : " + DT, "%u = arith.mulf %t, %in2 : " + DT,
                   "%y = arith.addf %u, %in3 : " + DT]
        elif kind == "exp":
            ops = ["%y = math.exp %in0 : " + DT]
        elif kind == "div":
            ops = ["%y = arith.divf %in0, %in1 : " + DT]
        else:
            raise ValueError(kind)
        body.append("  %s = linalg.generic {indexing_maps = [%s], iterator_types = [%s]} "
                    "ins(%s : %s) outs(%s : %s) {" % (r, all_maps, its, in_vals, in_types, e,
                                                       ttype(out_shape)))
        body.append("  ^bb0(%s):" % bargs)
        for o in ops:
            body.append("    " + o)
        body.append("    linalg.yield %y : " + DT)
        body.append("  } -> " + ttype(out_shape))
        return r, out_shape

    P, R = "parallel", "reduction"

    def matmul3(x, w, out_last):
        # x[b,s,k] * w[k,o] -> y[b,s,o]; loops (b, s, o, k)
        return generic([x, w], [B, S, out_last], [P, P, P, R], [(0, 1, 3), (3, 2)], (0, 1, 2), "mac")

    def layer_norm(x, g, b):
        # loops (b, s, h)
        sm = generic([x], [B, S], [P, P, R], [(0, 1, 2)], (0, 1), "sum")
        xc = generic([x, sm], [B, S, H], [P, P, P], [(0, 1, 2), (0, 1)], (0, 1, 2), "center")
        var = generic([xc], [B, S], [P, P, R], [(0, 1, 2)], (0, 1), "sumsq")
        return generic([xc, var, g, b], [B, S, H], [P, P, P],
                       [(0, 1, 2), (0, 1), (2,), (2,)], (0, 1, 2), "norm")

    x = arg("x", [B, S, H], [[data], [], []] if data else None)
    col2, row2 = ([[], [tp]], [[tp], []]) if tp else (None, None)
    for l in range(n):
        p = "l%d." % l
        if model == "tfm":
            g1 = arg(p + "ln1.g", [H]); b1 = arg(p + "ln1.b", [H])
            # Head-structured weights: [H, NH, HD] (column split = heads),
            # out projection [NH, HD, H] (row split = heads).
            colh = [[], [tp], []] if tp else None
            wq = arg(p + "wq", [H, NH, HD], colh); wk = arg(p + "wk", [H, NH, HD], colh)
            wv = arg(p + "wv", [H, NH, HD], colh)
            wo = arg(p + "wo", [NH, HD, H], [[tp], [], []] if tp else None)
            g2 = arg(p + "ln2.g", [H]); b2 = arg(p + "ln2.b", [H])
        w1 = arg(p + "w1", [H, F], col2)
        w2 = arg(p + "w2", [F, H], row2)
        if model == "tfm":
            ln = layer_norm(x, g1, b1)
            # q[b,n,s,d] = ln[b,s,k] wq[k,n,d]; loops (b, n, s, d, k)
            proj = lambda w: generic([ln, w], [B, NH, S, HD], [P, P, P, P, R],
                                     [(0, 2, 4), (4, 1, 3)], (0, 1, 2, 3), "mac")
            q, k, v = proj(wq), proj(wk), proj(wv)
            # scores[b,n,i,j] = q[b,n,i,d] k[b,n,j,d]; loops (b, n, i, j, d)
            s = generic([q, k], [B, NH, S, S], [P, P, P, P, R],
                        [(0, 1, 2, 4), (0, 1, 3, 4)], (0, 1, 2, 3), "mac")
            ex = generic([s], [B, NH, S, S], [P] * 4, [(0, 1, 2, 3)], (0, 1, 2, 3), "exp")
            den = generic([ex], [B, NH, S], [P, P, P, R], [(0, 1, 2, 3)], (0, 1, 2), "sum")
            pr = generic([ex, den], [B, NH, S, S], [P] * 4, [(0, 1, 2, 3), (0, 1, 2)],
                         (0, 1, 2, 3), "div")
            # c[b,n,i,d] = p[b,n,i,j] v[b,n,j,d]; loops (b, n, i, d, j)
            c = generic([pr, v], [B, NH, S, HD], [P, P, P, P, R],
                        [(0, 1, 2, 4), (0, 1, 4, 3)], (0, 1, 2, 3), "mac")
            # o[b,s,h] = c[b,n,s,d] wo[n,d,h]; loops (b, s, h, n, d)
            o = generic([c, wo], [B, S, H], [P, P, P, R, R],
                        [(0, 3, 1, 4), (3, 4, 2)], (0, 1, 2), "mac")
            x = generic([x, o], [B, S, H], [P, P, P], [(0, 1, 2), (0, 1, 2)], (0, 1, 2), "add")
            ln2 = layer_norm(x, g2, b2)
            h = matmul3(ln2, w1, F)
            r = generic([h], [B, S, F], [P, P, P], [(0, 1, 2)], (0, 1, 2), "relu")
            y = matmul3(r, w2, H)
            x = generic([x, y], [B, S, H], [P, P, P], [(0, 1, 2), (0, 1, 2)], (0, 1, 2), "add")
        else:
            h = matmul3(x, w1, F)
            r = generic([h], [B, S, F], [P, P, P], [(0, 1, 2)], (0, 1, 2), "relu")
            x = matmul3(r, w2, H)
    grid = "x".join(str(s) for _, s in mesh)
    consts = ["  %%zero = arith.constant 0.0 : %s" % DT,
              "  %%invh = arith.constant %s : %s" % (repr(1.0 / H), DT)]
    text = ("shard.grid @grid(shape = %s)\n" % grid +
            "func.func @main(%s) -> %s {\n" % (",\n    ".join(args), ttype(x[1])) +
            "\n".join(consts + body) + "\n  return %s : %s\n}\n" % (x[0], ttype(x[1])))
    return text


# ----------------------------------------------------------------------------
# Byte accounting (per rank, nccl-tests bus convention; REFERENCES.md)
# ----------------------------------------------------------------------------


def coll_bytes(kind, size_bytes, n):
    """size_bytes: the full buffer the collective works on (all_reduce: the
    reduced buffer; all_gather: the gathered result; reduce_scatter: the
    unscattered input; all_to_all: the local buffer)."""
    if n <= 1:
        return 0
    if kind == "all_reduce":
        return 2 * (n - 1) * size_bytes // n
    if kind in ("all_gather", "reduce_scatter", "all_to_all"):
        return (n - 1) * size_bytes // n
    if kind in ("slice", "all_slice"):
        return 0
    return size_bytes  # point to point (shift, send, collective-permute, ...)


# ----------------------------------------------------------------------------
# Running the tools
# ----------------------------------------------------------------------------


def timed(cmd, reps, env=None):
    best, proc = None, None
    for _ in range(reps):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode,
                                                       proc.stderr[-3000:]))
        best = dt if best is None else min(best, dt)
    return best * 1000.0, proc


def pass_ms(stderr, needle):
    """Wall time of the passes whose name contains needle, from -mlir-timing."""
    total = 0.0
    for line in stderr.splitlines():
        m = re.match(r"\s*([\d.]+)\s+\(\s*[\d.]+%\)\s+(.*)$", line)
        if m and needle in m.group(2):
            total += float(m.group(1)) * 1000.0
    return total


def parse_dims(text):
    """'[{data, ?}, {?}] unreduced{model}' -> ([['data'], []], ['model'])."""
    bracket = text[text.index("["):text.index("]") + 1]
    dims = []
    for d in re.findall(r"\{([^}]*)\}", bracket):
        dims.append([a.strip() for a in d.split(",") if a.strip() and a.strip() != "?"])
    unreduced = []
    m = re.search(r"unreduced\{([^}]*)\}", text)
    if m:
        unreduced = [a.strip() for a in m.group(1).split(",") if a.strip()]
    return dims, unreduced


def run_partita(args, model, mode, dims, n, work):
    text, out_name = partita_program(model, mode, dims, n)
    path = os.path.join(work, "partita.mlir")
    with open(path, "w") as f:
        f.write(text)
    opt = os.path.join(args.build, "bin", "partita-opt")
    ms, _ = timed([opt, "--sharding-propagate", path, "-o", os.devnull], args.reps)
    _, tp = timed([opt, "--sharding-propagate", "-mlir-timing", path, "-o", os.devnull], 1)
    pms = pass_ms(tp.stderr, "ShardingPropagate")
    plan_json = os.path.join(work, "plan.json")
    timed([os.path.join(args.build, "bin", "partita"), "plan", path, "-o", plan_json], 1)
    with open(plan_json) as f:
        plan = json.load(f)
    sizes = dict(MESHES[mode])
    tensors = {t["name"]: t for t in plan["tensors"]}
    counts, total, detail = {}, 0, []
    needs = [(r["collective"], r["axes"], r["tensor"], r["from"], r["to"]) for r in plan["reshards"]]
    # A partial sum returned from the function still has to be summed by
    # someone: count it (the other tools all-reduce before returning).
    ret = tensors.get(out_name)
    if ret and ret["unreduced"]:
        needs.append(("all_reduce", ret["unreduced"], out_name,
                      "[" + ", ".join("{" + ", ".join(d) + "}" for d in ret["sharding"]) + "]",
                      "(return)"))
    for kind, axes, name, frm, to in needs:
        if name not in tensors:
            raise RuntimeError("reshard of unnamed tensor '%s'" % name)
        shape = tensors[name]["shape"]
        fdims, _ = parse_dims(frm)
        local = [d // prod(sizes[a] for a in ax) for d, ax in zip(shape, fdims)]
        nax = prod(sizes[a] for a in axes)
        size = prod(local) * ELEM_BYTES
        if kind == "all_gather":
            size *= nax  # the gathered result
        b = coll_bytes(kind, size, nax)
        counts[kind] = counts.get(kind, 0) + 1
        total += b
        detail.append("%s{%s} %s %s->%s %dB" % (kind, ",".join(axes), name, frm, to, b))
    return dict(tool="partita", ms=ms, pass_ms=pms, counts=counts, bytes=total, detail=detail)


COLL_RE = re.compile(r"shard\.(all_reduce|all_gather|all_to_all|reduce_scatter|all_slice|"
                     r"shift|broadcast|gather|scatter|reduce|send|recv)\s.*?"
                     r"grid_axes\s*=\s*\[([\d,\s]*)\].*?:\s*(tensor<[^>]*>)\s*->\s*(tensor<[^>]*>)")


def tensor_bytes(t):
    dims = t[len("tensor<"):-1].split("x")[:-1]
    return prod(int(d) for d in dims) * ELEM_BYTES


def run_upstream(args, model, mode, dims, n, work):
    text = linalg_program(model, mode, dims, n)
    path = os.path.join(work, "linalg.mlir")
    with open(path, "w") as f:
        f.write(text)
    pipe = "builtin.module(func.func(sharding-propagation,shard-partition))"
    prop = "builtin.module(func.func(sharding-propagation))"
    ms, proc = timed([args.mlir_opt, "--pass-pipeline=" + pipe, path], args.reps)
    prop_ms, _ = timed([args.mlir_opt, "--pass-pipeline=" + prop, path, "-o", os.devnull],
                       args.reps)
    _, tp = timed([args.mlir_opt, "--pass-pipeline=" + prop, "-mlir-timing", path,
                   "-o", os.devnull], 1)
    pms = pass_ms(tp.stderr, "ShardingPropagation")
    with open(os.path.join(work, "linalg.partitioned.mlir"), "w") as f:
        f.write(proc.stdout)
    grid = [s for _, s in MESHES[mode]]
    counts, total, detail = {}, 0, []
    for line in proc.stdout.splitlines():
        m = COLL_RE.search(line)
        if not m:
            continue
        kind, axes_txt, tin, tout = m.groups()
        axes = [int(a) for a in axes_txt.replace(" ", "").split(",") if a]
        nax = prod(grid[a] for a in axes) if axes else prod(grid)
        size = tensor_bytes(tout if kind == "all_gather" else tin)
        b = coll_bytes(kind, size, nax)
        counts[kind] = counts.get(kind, 0) + 1
        total += b
        detail.append("%s%s %s->%s %dB" % (kind, axes, tin, tout, b))
    return dict(tool="upstream", ms=ms, prop_ms=prop_ms, pass_ms=pms, counts=counts,
                bytes=total, detail=detail)


# ----------------------------------------------------------------------------
# (c) JAX peer, run in the venv as a child process (see jax_peer.py)
# ----------------------------------------------------------------------------


def setup_jax(args):
    if args.no_jax:
        return None, "disabled (--no-jax)"
    venv = os.path.join(OUT, "venv")
    py = os.path.join(venv, "bin", "python")
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    env["JAX_PLATFORMS"] = "cpu"
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ok = subprocess.run([py, "-c", "import jax"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
        if not ok:
            p = subprocess.run([py, "-m", "pip", "install", "-q", "jax"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=600)
            if p.returncode != 0:
                return None, "pip install jax failed: " + p.stdout.strip().splitlines()[-1]
        p = subprocess.run([py, "-c", "import jax; print(jax.__version__, len(jax.devices()))"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if p.returncode != 0:
            return None, "import jax failed: " + p.stderr.strip().splitlines()[-1]
        version, ndev = p.stdout.split()
        if int(ndev) < 8:
            return None, "only %s devices" % ndev
        return (py, env, version), None
    except Exception as e:  # network, venv module missing, timeout...
        return None, "%s" % e


def run_jax(jax, model, mode, dims, n, work):
    py, env, _ = jax
    spec = dict(model=model, mode=mode, dims=dims, n=n, mesh=MESHES[mode],
                hlo=os.path.join(work, "jax.hlo.txt"))
    p = subprocess.run([py, os.path.join(HERE, "jax_peer.py"), json.dumps(spec)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("jax_peer.py failed:\n" + p.stderr[-3000:])
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["tool"] = "jax"
    return r


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------


def fmt_counts(c):
    return ", ".join("%s %d" % (k, v) for k, v in sorted(c.items())) or "-"


def fmt_bytes(b):
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= f:
            return "%.2f %s" % (b / f, unit)
    return "%d B" % b


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build directory with bin/partita-opt and bin/partita")
    ap.add_argument("--mlir-opt", default="/usr/lib/llvm-22/bin/mlir-opt")
    ap.add_argument("--reps", type=int, default=3, help="timing repetitions (best of)")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--jax-max-layers", type=int, default=96,
                    help="skip the JAX peer above this many layers")
    ap.add_argument("--quick", action="store_true", help="small dims and N=1,12 only")
    ap.add_argument("--models", default="mlp,tfm")
    ap.add_argument("--modes", default="dp,megatron,2d")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every collective")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)

    jax, why = setup_jax(args)
    if jax:
        print("jax: %s on 8 CPU devices" % jax[2])
    else:
        print("jax: skipped (%s)" % why)

    sizes = [("small", 2)] + ([("gpt3", 1), ("gpt3", 12)] if args.quick else
                              [("gpt3", 1), ("gpt3", 12), ("gpt3", 96)])
    results, failures, lines = [], [], []

    def emit(s=""):
        print(s)
        lines.append(s)
        sys.stdout.flush()

    emit("# Sharding propagation: Partita vs upstream MLIR shard%s" % (" vs JAX" if jax else ""))
    emit()
    emit("bf16; per-rank bytes per step: all_reduce 2(n-1)/n*S, all_gather/reduce_scatter/"
         "all_to_all (n-1)/n*S, slice 0 (README.md).")
    emit("Meshes: dp data=8, megatron model=8, 2d data=2 x model=4. wall ms: best of %d "
         "process runs (partita-opt --sharding-propagate; mlir-opt sharding-propagation + "
         "shard-partition; JAX: lower+compile). pass ms: the propagation pass alone "
         "(-mlir-timing)." % args.reps)
    emit()
    emit("| case | tool | wall ms | pass ms | #collectives | bytes/step |")
    emit("|---|---|---:|---:|---|---:|")
    for model in args.models.split(","):
        for mode in args.modes.split(","):
            for dname, n in sizes:
                case = "%s-%s %s N=%d" % (model, mode, dname, n)
                work = os.path.join(OUT, "cases", "%s_%s_%s_%d" % (model, mode, dname, n))
                os.makedirs(work, exist_ok=True)
                rs = {}
                try:
                    rs["partita"] = run_partita(args, model, mode, DIMS[dname], n, work)
                    rs["upstream"] = run_upstream(args, model, mode, DIMS[dname], n, work)
                except RuntimeError as e:
                    print("error in %s: %s" % (case, e), file=sys.stderr)
                    sys.exit(2)
                if jax and n <= args.jax_max_layers:
                    try:
                        rs["jax"] = run_jax(jax, model, mode, DIMS[dname], n, work)
                    except RuntimeError as e:
                        rs["jax"] = None
                        failures.append("%s: JAX peer failed: %s" % (case, str(e)[-300:]))
                for tool in ("partita", "upstream", "jax"):
                    r = rs.get(tool)
                    if not r:
                        continue
                    pms = "%.1f" % r["pass_ms"] if "pass_ms" in r else "-"
                    emit("| %s | %s | %.1f | %s | %s | %s |" % (case, tool, r["ms"], pms,
                                                              fmt_counts(r["counts"]),
                                                              fmt_bytes(r["bytes"])))
                    if args.verbose:
                        for d in r["detail"]:
                            print("      " + d)
                results.append((model, mode, dname, n, rs))
                # Checks.
                pb, ub = rs["partita"]["bytes"], rs["upstream"]["bytes"]
                if pb > ub:
                    failures.append("%s: Partita moves %d B > upstream %d B" % (case, pb, ub))
                if mode == "dp" and not pb < ub:
                    failures.append("%s: data parallel: Partita %d B not strictly fewer than "
                                    "upstream %d B" % (case, pb, ub))
                if rs.get("jax") and pb > rs["jax"]["bytes"]:
                    failures.append("%s: Partita moves %d B > JAX %d B"
                                    % (case, pb, rs["jax"]["bytes"]))
                if dname == "gpt3" and n == 96:
                    pm, um = rs["partita"]["ms"], rs["upstream"]["ms"]
                    if pm >= 1000.0:
                        failures.append("%s: Partita propagation %.0f ms >= 1 s" % (case, pm))
                    if pm >= um:
                        failures.append("%s: Partita %.1f ms not faster than upstream %.1f ms"
                                        % (case, pm, um))
    emit()
    emit("Checks: " + ("all passed" if not failures else "%d failed" % len(failures)))
    for f in failures:
        emit("- FAIL " + f)
    with open(os.path.join(OUT, "propagation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "propagation.json"), "w") as f:
        json.dump([dict(model=m, mode=md, dims=d, n=n, results=rs)
                   for m, md, d, n, rs in results], f, indent=1)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
