#!/usr/bin/env python3
"""Partita vs PyTorch eager vs ONNX Runtime on GPT-2-style decoders (CPU).

Exports each decoder with torch.onnx.export, then times inference with the
same thread count in PyTorch eager (Debian's python3-torch), ONNX Runtime
(PyPI, in a venv under bench/out/) and `partita run --repeat`. Each engine
runs in its own process so that peak RSS is its own. Prints time ratios
(Partita median / peer median), peak-memory ratios, Partita's GFLOP/s next to
a large-SGEMM roofline through the same OpenBLAS, and Partita's compile time.

  python3 bench/cpu_vs_peers/run.py [--partita build/bin/partita] [--models small,large]

Needs (installed when missing, as root): python3-torch, libopenblas-dev,
python3-venv; onnxruntime from PyPI into bench/out/venv.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from runlib import set_core_type  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "bench", "out", "cpu_vs_peers")
VENV = os.path.join(ROOT, "bench", "out", "venv")
SYS_PY = "/usr/bin/python3"

MODELS = {
    # name: layers, d_model, heads, seq, batch, vocab
    "small": dict(layers=6, d=512, heads=8, seq=128, batch=4, vocab=2048),
    "large": dict(layers=12, d=768, heads=12, seq=128, batch=4, vocab=2048),
}


def ensure_deps():
    need = []
    try:
        subprocess.run([SYS_PY, "-c", "import torch, onnx, numpy"], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError:
        need += ["python3-torch", "python3-onnx", "python3-numpy"]
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"):
        need.append("libopenblas-dev")
    try:
        subprocess.run([SYS_PY, "-c", "import ensurepip"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        need.append("python3-venv")
    if need:
        if os.geteuid() != 0:
            sys.exit("bench: install as root: apt-get install " + " ".join(need))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + need,
                       check=True, env=env)
    vpy = os.path.join(VENV, "bin", "python")
    if not os.path.exists(vpy):
        subprocess.run([SYS_PY, "-m", "venv", "--system-site-packages", VENV], check=True)
    if subprocess.run([vpy, "-c", "import onnxruntime"], capture_output=True).returncode:
        subprocess.run([vpy, "-m", "pip", "install", "-q", "onnxruntime"], check=True)
    return vpy


def flops(m):
    """Multiply-adds x2 of the matrix products (the rest is negligible)."""
    L, d, s, b, v = m["layers"], m["d"], m["seq"], m["batch"], m["vocab"]
    per_token = L * (24 * d * d + 4 * s * d) + 2 * d * v
    return per_token * s * b


MODEL_SRC = textwrap.dedent('''
import math, torch, torch.nn as nn
class Block(nn.Module):
    def __init__(s, d, h, seq):
        super().__init__()
        s.h = h
        s.ln1 = nn.LayerNorm(d); s.ln2 = nn.LayerNorm(d)
        s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
        s.fc = nn.Linear(d, 4 * d); s.out = nn.Linear(4 * d, d)
        s.register_buffer("mask", torch.triu(torch.full((seq, seq), -1e9), 1))
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q = q.view(B, T, s.h, C // s.h).transpose(1, 2)
        k = k.view(B, T, s.h, C // s.h).transpose(1, 2)
        v = v.view(B, T, s.h, C // s.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // s.h)) + s.mask
        y = torch.softmax(att, dim=-1) @ v
        x = x + s.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + s.out(nn.functional.gelu(s.fc(s.ln2(x))))
class GPT(nn.Module):
    def __init__(s, layers, d, heads, seq, vocab, **_):
        super().__init__()
        s.tok = nn.Embedding(vocab, d); s.pos = nn.Parameter(torch.randn(seq, d) * 0.02)
        s.blocks = nn.ModuleList([Block(d, heads, seq) for _ in range(layers)])
        s.ln = nn.LayerNorm(d); s.head = nn.Linear(d, vocab, bias=False)
    def forward(s, ids):
        x = s.tok(ids) + s.pos
        for b in s.blocks: x = b(x)
        return s.head(s.ln(x))
def build(cfg):
    torch.manual_seed(0)
    return GPT(**cfg).eval()
''')

EXPORT = MODEL_SRC + textwrap.dedent('''
import sys, json, numpy as np
cfg = json.loads(sys.argv[1]); out = sys.argv[2]
m = build(cfg)
ids = torch.from_numpy(np.random.RandomState(0).randint(0, cfg["vocab"], (cfg["batch"], cfg["seq"])).astype(np.int64))
np.save(out + "/ids.npy", ids.numpy())
with torch.no_grad():
    torch.onnx.export(m, (ids,), out + "/model.onnx", input_names=["ids"], output_names=["logits"], opset_version=17)
    np.save(out + "/torch_logits.npy", m(ids).numpy())
''')

TIME_TORCH = MODEL_SRC + textwrap.dedent('''
import sys, json, time, resource, numpy as np
cfg = json.loads(sys.argv[1]); out = sys.argv[2]; n = int(sys.argv[3]); th = int(sys.argv[4])
compiled = len(sys.argv) > 5 and sys.argv[5] == "compile"
torch.set_num_threads(th)
m = build(cfg); ids = torch.from_numpy(np.load(out + "/ids.npy"))
ts = []
warm = 1
load = 0.0
with torch.inference_mode():
    if compiled:  # inductor; its compile happens in the first calls
        m = torch.compile(m)
        t0 = time.perf_counter(); m(ids); load = time.perf_counter() - t0
        warm = 2
    for i in range(n + warm):
        t = time.perf_counter(); r = m(ids); t = time.perf_counter() - t
        if i >= warm: ts.append(t)
ref = np.load(out + "/torch_logits.npy")
ts.sort()
print(json.dumps(dict(median=ts[len(ts) // 2], min=ts[0], load=load, version=torch.__version__,
                      maxdiff=float(abs(r.numpy() - ref).max()),
                      rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
''')


def pypi_torch(vpy):
    """The venv's torch when it is a current release (2.x from PyPI, not
    the system site packages' Debian 1.13): `bench/out/venv/bin/pip install
    'torch>=2.5'` adds it."""
    p = subprocess.run([vpy, "-c", "import torch; print(torch.__version__)"],
                       capture_output=True, text=True)
    version = p.stdout.strip()
    return version if p.returncode == 0 and not version.startswith("1.") else None

TIME_ORT = textwrap.dedent('''
import sys, json, time, resource, numpy as np, onnxruntime as ort
out = sys.argv[1]; n = int(sys.argv[2]); th = int(sys.argv[3])
o = ort.SessionOptions(); o.intra_op_num_threads = th; o.inter_op_num_threads = 1
o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
t0 = time.perf_counter()
s = ort.InferenceSession(out + "/model.onnx", o, providers=["CPUExecutionProvider"])
load = time.perf_counter() - t0
ids = np.load(out + "/ids.npy"); ts = []
for i in range(n + 1):
    t = time.perf_counter(); r = s.run(None, {"ids": ids}); t = time.perf_counter() - t
    if i: ts.append(t)
ref = np.load(out + "/torch_logits.npy")
ts.sort()
print(json.dumps(dict(median=ts[len(ts) // 2], min=ts[0], load=load, maxdiff=float(abs(r[0] - ref).max()), rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
''')

ROOFLINE = textwrap.dedent('''
import ctypes, sys, time, json, numpy as np
lib = ctypes.CDLL("libopenblas.so.0"); th = int(sys.argv[1]); n = 2048
lib.openblas_set_num_threads(th)
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32); c = np.zeros((n, n), np.float32)
P = ctypes.c_void_p
f = lambda: lib.cblas_sgemm(101, 111, 111, n, n, n, ctypes.c_float(1.0), P(a.ctypes.data), n, P(b.ctypes.data), n, ctypes.c_float(0.0), P(c.ctypes.data), n)
f(); best = 1e9
for _ in range(5):
    t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)
print(json.dumps(dict(gflops=2.0 * n ** 3 / best / 1e9)))
''')


def fastest_peer(pt, ox, current):
    """(name, result) of the peer with the lowest median."""
    peers = dict(current, **{"onnxruntime": ox, "torch eager (Debian)": pt})
    name = min(peers, key=lambda k: peers[k]["median"])
    return name, peers[name]


def run_json(cmd, env):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit("bench: failed: %s\n%s%s" % (" ".join(cmd[:2]), p.stdout, p.stderr[-3000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_partita(partita, d, n, env):
    cmd = [partita, "run", os.path.join(d, "model.onnx"), "--inputs",
           os.path.join(d, "ids.npy"), "--repeat", str(n), "--outputs", os.path.join(d, "partita")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit("bench: partita failed:\n" + p.stdout[-2000:] + p.stderr[-3000:])
    o = p.stdout
    ms = lambda pat: float(re.search(pat, o).group(1)) / 1e3
    r = dict(compile=ms(r"compile time: ([\d.]+) ms"), median=ms(r"median ([\d.]+) ms"),
             min=ms(r"min ([\d.]+) ms"),
             rss_mib=float(re.search(r"peak RSS: ([\d.]+) MiB", o).group(1)))
    import numpy as np  # noqa: system numpy
    ref = np.load(os.path.join(d, "torch_logits.npy"))
    got = np.load(os.path.join(d, "partita", "output_0.npy"))
    r["maxdiff"] = float(abs(got - ref).max())
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--models", default="small,large")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--inherit-coretype", action="store_true",
                    help="keep the environment's OPENBLAS_CORETYPE for every engine "
                         "(default: the host's, from CPUID)")
    args = ap.parse_args()
    vpy = ensure_deps()
    torch2 = pypi_torch(vpy)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               PARTITA_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    core = set_core_type(env, args.inherit_coretype)
    roof = run_json([SYS_PY, "-c", ROOFLINE, str(args.threads)], env)["gflops"]
    print("threads %d, %s, SGEMM 2048^3 roofline %.1f GFLOP/s" % (args.threads, core, roof))
    rows = []
    for name in args.models.split(","):
        cfg = MODELS[name]
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(d, "model.onnx")):
            run = subprocess.run([SYS_PY, "-c", EXPORT, json.dumps(cfg), d], env=env,
                                 capture_output=True, text=True)
            if run.returncode:
                sys.exit("bench: export failed:\n" + run.stderr[-3000:])
        pt = run_json([SYS_PY, "-c", TIME_TORCH, json.dumps(cfg), d, str(args.repeat),
                       str(args.threads)], env)
        ox = run_json([vpy, "-c", TIME_ORT, d, str(args.repeat), str(args.threads)], env)
        current = {}
        if torch2:
            for label, mode in (("torch %s eager" % torch2, "eager"),
                                ("torch %s compile" % torch2, "compile")):
                current[label] = run_json([vpy, "-c", TIME_TORCH, json.dumps(cfg), d,
                                           str(args.repeat), str(args.threads), mode], env)
        pa = run_partita(args.partita, d, args.repeat, env)
        gf = flops(cfg) / 1e9
        rows.append((name, cfg, gf, pt, ox, pa, current))
        print("%s: %d layers d=%d heads=%d seq=%d batch=%d vocab=%d, %.1f GFLOP" % (
            name, cfg["layers"], cfg["d"], cfg["heads"], cfg["seq"], cfg["batch"], cfg["vocab"], gf))
        print("  torch eager   median %8.1f ms  min %8.1f ms  peak RSS %7.0f MiB" % (
            pt["median"] * 1e3, pt["min"] * 1e3, pt["rss_mib"]))
        print("  onnxruntime   median %8.1f ms  min %8.1f ms  peak RSS %7.0f MiB  (max |diff| vs torch %.2g)" % (
            ox["median"] * 1e3, ox["min"] * 1e3, ox["rss_mib"], ox["maxdiff"]))
        for label, r in current.items():
            print("  %-26s median %8.1f ms  min %8.1f ms  peak RSS %7.0f MiB  (max |diff| %.2g%s)" % (
                label, r["median"] * 1e3, r["min"] * 1e3, r["rss_mib"], r["maxdiff"],
                ", compile %.1f s" % r["load"] if r["load"] else ""))
        print("  partita       median %8.1f ms  min %8.1f ms  peak RSS %7.0f MiB  (max |diff| vs torch %.2g)" % (
            pa["median"] * 1e3, pa["min"] * 1e3, pa["rss_mib"], pa["maxdiff"]))
        print("  partita compile %.1f s; %.1f GFLOP/s (%.0f%% of SGEMM roofline %.1f)" % (
            pa["compile"], gf / pa["median"], 100 * gf / pa["median"] / roof, roof))
        print("  ratios partita/torch: time %.2f, memory %.2f;  partita/onnxruntime: time %.2f, memory %.2f" % (
            pa["median"] / pt["median"], pa["rss_mib"] / pt["rss_mib"],
            pa["median"] / ox["median"], pa["rss_mib"] / ox["rss_mib"]))
        best, r = fastest_peer(pt, ox, current)
        print("  fastest peer: %s; partita/it: time %.2f (target <= 0.8), memory %.2f (target <= 1.0)" % (
            best, pa["median"] / r["median"], pa["rss_mib"] / r["rss_mib"]))
        sys.stdout.flush()
    print("\n| model | GFLOP | torch ms | ORT ms | torch 2 eager / compile ms | Partita ms | /torch | /ORT | /fastest | mem /torch | mem /ORT | mem /fastest | Partita GFLOP/s | roofline | compile s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, cfg, gf, pt, ox, pa, current in rows:
        best = fastest_peer(pt, ox, current)[1]
        now = " / ".join("%.0f" % (r["median"] * 1e3) for r in current.values()) or "-"
        print("| %s (%dL d%d) | %.1f | %.0f | %.0f | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f |" % (
            name, cfg["layers"], cfg["d"], gf, pt["median"] * 1e3, ox["median"] * 1e3, now,
            pa["median"] * 1e3, pa["median"] / pt["median"], pa["median"] / ox["median"],
            pa["median"] / best["median"], pa["rss_mib"] / pt["rss_mib"],
            pa["rss_mib"] / ox["rss_mib"], pa["rss_mib"] / best["rss_mib"], gf / pa["median"],
            roof, pa["compile"]))


if __name__ == "__main__":
    main()
