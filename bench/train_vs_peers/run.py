"""One training step (forward, backward, AdamW update) of a GPT-style decoder:
`partita train` against PyTorch eager (Debian's python3-torch) and, when the
bench venv has it, a current PyTorch from PyPI eager and torch.compile.
Each engine runs in its own process; peak RSS is its own VmHWM.

    python3 bench/train_vs_peers/run.py --partita build/bin/partita [--steps 10]
        [--threads 2] [--layers 2 --d 256 --heads 4 --seq 64 --batch 4 --vocab 2048]

Prints per engine the median step (first step excluded) and the peak RSS,
then the ratios partita / peer (time and memory; < 1 is better).
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from runlib import set_core_type  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "bench", "out", "train_vs_peers")
SYS_PY = "/usr/bin/python3"
VENV_PY = os.path.join(ROOT, "bench", "out", "venv", "bin", "python")

# The peer: the same model built in torch, trained with the same loss and
# optimizer on the same batch. Run as `python -c PEER json-config`.
PEER = r'''
import json, resource, sys, time
import numpy as np, torch
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
sys.path.insert(0, cfg["scripts"])
from torch_gpt import build_gpt
net = build_gpt(cfg["layers"], cfg["d"], cfg["heads"], cfg["seq"], cfg["vocab"], tied=False,
                noise=0.02)
net.load_state_dict(torch.load(cfg["dir"] + "/state.pt"))
ids = torch.from_numpy(np.load(cfg["dir"] + "/ids.npy"))
labels = torch.from_numpy(np.load(cfg["dir"] + "/labels.npy"))
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
def step(x, y):
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(net(x).reshape(-1, cfg["vocab"]), y.reshape(-1))
    loss.backward()
    opt.step()
    return loss
if cfg.get("compile"):
    step = torch.compile(step)
times, losses = [], []
for _ in range(cfg["steps"]):
    t = time.perf_counter()
    losses.append(float(step(ids, labels)))
    times.append(time.perf_counter() - t)
times = sorted(times[1:] or times)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"median": times[len(times) // 2], "rss_mib": int(hwm) / 1024,
                  "losses": losses, "torch": torch.__version__}))
'''



def export(cfg):
    d = cfg["dir"]
    os.makedirs(d, exist_ok=True)
    script = f'''
import json, sys, numpy as np, torch
cfg = json.loads({json.dumps(json.dumps(cfg))})
sys.path.insert(0, cfg["scripts"])
from torch_gpt import build_gpt
net = build_gpt(cfg["layers"], cfg["d"], cfg["heads"], cfg["seq"], cfg["vocab"], tied=False,
                noise=0.02)
torch.save(net.state_dict(), {d!r} + "/state.pt")
g = torch.Generator().manual_seed(1)
ids = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["seq"]), generator=g)
labels = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["seq"]), generator=g)
np.save({d!r} + "/ids.npy", ids.numpy()); np.save({d!r} + "/labels.npy", labels.numpy())
torch.onnx.export(net, (ids,), {d!r} + "/model.onnx", input_names=["ids"],
                  output_names=["logits"], opset_version=17, do_constant_folding=False)
'''
    subprocess.run([SYS_PY, "-c", script], check=True)


def run_peer(python, cfg, compile_=False):
    p = subprocess.run([python, "-c", PEER, json.dumps(dict(cfg, compile=compile_))],
                       capture_output=True, text=True)
    if p.returncode:
        return None, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed"
    return json.loads(p.stdout.strip().splitlines()[-1]), ""


def run_partita(partita, cfg):
    d = cfg["dir"]
    cmd = [partita, "train", os.path.join(d, "model.onnx"), "--inputs",
           os.path.join(d, "ids.npy"), "--labels", os.path.join(d, "labels.npy"),
           "--loss", "cross_entropy", "--optimizer", "adamw", "--lr", "1e-3",
           "--weight-decay", "0.01", "--steps", str(cfg["steps"]),
           "--recompute", cfg.get("recompute", "none")]
    env = dict(os.environ, PARTITA_NUM_THREADS=str(cfg["threads"]))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit("bench: partita train failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    m = re.search(r"median step ([\d.]+) ms, peak RSS ([\d.]+) MiB", p.stdout)
    losses = [float(x) for x in re.findall(r"^step \d+: loss (\S+)$", p.stdout, re.M)]
    return {"median": float(m.group(1)) / 1e3, "rss_mib": float(m.group(2)), "losses": losses}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    for k, v in (("layers", 2), ("d", 256), ("heads", 4), ("seq", 64), ("batch", 4),
                 ("vocab", 2048)):
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--recompute", default="none",
                    help="partita's activation recomputation: none, selective, full")
    ap.add_argument("--inherit-coretype", action="store_true",
                    help="keep the environment's OPENBLAS_CORETYPE for every engine "
                         "(default: the host's, from CPUID)")
    ap.add_argument("--partita-only", action="store_true",
                    help="run partita alone (e.g. to compare --recompute modes)")
    a = ap.parse_args()
    # Every engine (they inherit os.environ) gets the same OpenBLAS kernels.
    core = set_core_type(os.environ, a.inherit_coretype)
    cfg = {k: getattr(a, k) for k in ("steps", "threads", "layers", "d", "heads", "seq",
                                      "batch", "vocab")}
    cfg["dir"] = os.path.join(OUT, "gpt_l%d_d%d" % (a.layers, a.d))
    cfg["scripts"] = os.path.join(ROOT, "scripts")
    export(cfg)
    cfg["recompute"] = a.recompute
    results = {"partita": run_partita(a.partita, cfg)}
    if a.partita_only:
        r = results["partita"]
        print(f"partita (--recompute {a.recompute}): median step {1e3 * r['median']:.1f} ms, "
              f"peak RSS {r['rss_mib']:.0f} MiB, first-step loss {r['losses'][0]:.4f}")
        return
    r, why = run_peer(SYS_PY, cfg)
    results["torch eager (Debian)"] = r or why
    if os.path.exists(VENV_PY) and run_peer(VENV_PY, dict(cfg, steps=1))[0]:
        for name, comp in (("torch eager (PyPI)", False), ("torch.compile (PyPI)", True)):
            r, why = run_peer(VENV_PY, cfg, comp)
            results[name] = r or why
    else:
        results["torch (PyPI)"] = ("skipped: no torch in bench/out/venv (pip install torch "
                                   "there to compare with a current release)")
    ours = results["partita"]
    print(f"model: GPT-style, {a.layers} layers, d {a.d}, {a.heads} heads, seq {a.seq}, "
          f"batch {a.batch}, vocab {a.vocab}; AdamW + cross-entropy; {a.threads} threads; "
          f"{a.steps} steps; {core}")
    for name, r in results.items():
        if isinstance(r, str):
            print(f"{name}: {r}")
            continue
        line = f"{name}: median step {1e3 * r['median']:.1f} ms, peak RSS {r['rss_mib']:.0f} MiB"
        if name != "partita":
            line += (f"; ratio partita/peer: time {ours['median'] / r['median']:.2f}x, "
                     f"memory {ours['rss_mib'] / r['rss_mib']:.2f}x; first-step loss "
                     f"{r['losses'][0]:.4f} vs partita {ours['losses'][0]:.4f}")
            if "torch" in r:
                line += f" (torch {r['torch']})"
        print(line)


if __name__ == "__main__":
    main()
