#!/usr/bin/env python3
"""Partition overhead: single-device step time vs per-rank compute on 2 ranks.

For the GPT-style models of bench/cpu_vs_peers (6-layer d512 "small",
12-layer d768 "large"; exported there with torch.onnx.export, cached under
bench/out/cpu_vs_peers/<model>/), runs

  partita run MODEL --inputs ids.npy --repeat N                       (single device)
  partita run MODEL --inputs ids.npy --repeat N --mesh data=2  --shardings data.json  --report R.json
  partita run MODEL --inputs ids.npy --repeat N --mesh model=2 --shardings model.json --report R.json
  (model-seq: the same mesh, Megatron's weights plus the ids split along the sequence)

and prints, from the report's rank_timings (per rank: median step, median
time inside collectives, median compute = step - collectives):
  sum/single   = sum over ranks of compute / single-device step
  rank/(1/R)   = max over ranks of compute / (single-device step / ranks)   target <= 1.2
  coll         = time inside collectives (max over ranks) and its share of the step

"Single device" is one of the devices the ranks run on: on this CPU host
the ranks split the cores (each rank's BLAS and loop-nest threads follow
its affinity mask, 1 core of 2 here), so the single-device run gets the
same share (PARTITA_NUM_THREADS = cores / ranks). The run on every core
is printed next to it (all-cores), for reference, with its own ratio.

Usage:
  python3 bench/partition_overhead/run.py [--partita build/bin/partita] [--models small,large] [--repeat 5]
The models must have been exported first (python3 bench/cpu_vs_peers/run.py).
"""
import argparse, json, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from runlib import sh, step_ms  # noqa: E402
CACHE = os.path.join(ROOT, "bench", "out", "cpu_vs_peers")
OUT = os.path.join(ROOT, "bench", "out", "partition_overhead")



def megatron_shardings(partita, model):
    """Megatron for the exported weights: the weights of qkv and fc split by
    columns (with their biases), of proj and out by rows. torch.onnx.export
    names the (transposed) Linear weights onnx::MatMul_N, so they are found
    through the MatMul that reads them (/blocks.I/NAME/MatMul)."""
    text = sh([partita, "import", model], with_stderr=False)
    locs = dict(re.findall(r'^(#loc\d+) = loc\("([^"]*)"', text, re.M))
    consts = {}
    for v, l in re.findall(r'^\s*(%\d+) = graph\.constant .* loc\((#loc\d+)\)$', text, re.M):
        consts[v] = locs.get(l, "")
    s = {}
    for b, l in re.findall(r'^\s*%\d+ = graph\.matmul %\d+, (%\d+) .* loc\((#loc\d+)\)$', text, re.M):
        m = re.match(r'/blocks\.(\d+)/(qkv|fc|proj|out)/MatMul', locs.get(l, ""))
        if not m or not consts.get(b):
            continue
        i, kind = m.groups()
        if kind in ("qkv", "fc"):
            s[consts[b]] = [None, "model"]
            s["blocks.%s.%s.bias" % (i, kind)] = ["model"]
        else:
            s[consts[b]] = ["model", None]
    if not s:
        sys.exit("bench: no Megatron weights found in " + model)
    return {"mesh": {"model": 2}, "shardings": s}



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partita", default=os.path.join(ROOT, "build", "bin", "partita"))
    ap.add_argument("--models", default="small,large")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        d = os.path.join(CACHE, name)
        model, ids = os.path.join(d, "model.onnx"), os.path.join(d, "ids.npy")
        if not os.path.exists(model):
            sys.exit("bench: %s missing: run python3 bench/cpu_vs_peers/run.py first" % model)
        megatron = megatron_shardings(args.partita, model)
        # Megatron's weights plus the token ids split along the sequence:
        # propagation keeps the residual stream (layer norms, adds) split
        # too, gathering the sequence where the projections need it.
        seq = {"mesh": megatron["mesh"],
               "shardings": dict(megatron["shardings"], ids=[None, "model"])}
        files = {  # label -> (mesh axis, annotations)
            "data": ("data", {"mesh": {"data": 2}, "shardings": {"ids": ["data", None]}}),
            "model": ("model", megatron),
            "model-seq": ("model", seq),
        }
        base = [args.partita, "run", model, "--inputs", ids, "--repeat", str(args.repeat)]
        per_rank = max(1, len(os.sched_getaffinity(0)) // 2)
        single = step_ms(sh(base, env={"PARTITA_NUM_THREADS": str(per_rank)}))
        all_cores = step_ms(sh(base))
        for label, (axis, spec) in files.items():
            sf = os.path.join(OUT, "%s-%s.json" % (name, label))
            rf = os.path.join(OUT, "%s-%s-report.json" % (name, label))
            json.dump(spec, open(sf, "w"), indent=1)
            sh(base + ["--print-limit", "0", "--mesh", axis + "=2", "--shardings", sf, "--report", rf])
            r = json.load(open(rf))
            t = r["rank_timings"]
            compute = [x["compute_seconds"] * 1e3 for x in t]
            coll = [x["collective_seconds"] * 1e3 for x in t]
            step = [x["step_seconds"] * 1e3 for x in t]
            n = len(t)
            rows.append(dict(model=name, mesh=label + "=2", single=single, all_cores=all_cores,
                             all_ratio=max(compute) / (all_cores / n), step=max(step),
                             compute=compute, coll=max(coll),
                             counts=r["counts"], mib=r["total_bytes_per_rank"] / 2**20,
                             sum_ratio=sum(compute) / single,
                             rank_ratio=max(compute) / (single / n)))
    print()
    print("%-6s %-12s %9s %9s %9s %17s %9s %7s %9s %10s %9s  %s" % (
        "model", "mesh", "single", "all-cores", "step", "compute r0/r1", "coll", "coll%",
        "sum/single", "rank/(1/R)", "(all-cores)", "collectives (MiB/rank)"))
    for r in rows:
        print("%-6s %-12s %7.1fms %7.1fms %7.1fms %7.1f/%7.1fms %7.1fms %6.0f%% %10.2f %9.2f%s %9.2f  %s (%.1f)" % (
            r["model"], r["mesh"], r["single"], r["all_cores"], r["step"], r["compute"][0],
            r["compute"][1], r["coll"], 100 * r["coll"] / r["step"], r["sum_ratio"],
            r["rank_ratio"], "" if r["rank_ratio"] <= 1.2 else "!", r["all_ratio"],
            ",".join("%s=%d" % kv for kv in sorted(r["counts"].items())) or "none", r["mib"]))
    print("\nrank/(1/R): max over ranks of compute / (single / ranks); target <= 1.2 ('!' = missed);"
          " single: one rank's share of the cores; (all-cores): the same ratio against the run on"
          " every core")


if __name__ == "__main__":
    main()
