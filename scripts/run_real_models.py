#!/usr/bin/env python3
"""Runs every model that gen_real_models.py exported through `partita run
--check` on one device and on the distributed configurations of issue 16:
data=2, and `--strategy auto` on model=2 and on data=2,model=2. Each run
compares with the outputs PyTorch computed (one device) or with one device
(the distributed runs, which --check also compares with the reference file).

usage: run_real_models.py DIR [--partita BIN] [--only NAME,...] [--configs K,...]
(default configurations: single, data2, auto-model2, auto-data2-model2; also
cuda: compile for the CUDA target, cuda-on-cpu: its loop mapping on the CPU;
seq2-gather, seq2-ulysses, seq2-ring, seq2-zigzag: the token sequence split over seq=2
with that attention form, docs/sequence.md; expert2, expert2-model2: the
batch and every MoE dispatch's experts on expert=2, and each expert's FFN on
model=2 too, docs/experts.md)

Prints one line per model and configuration ("NAME CONFIG: OK 1.2s" or
"NAME CONFIG: FAIL <first diagnostic line>") and a summary line; the exit
status is non-zero when any run failed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# "cuda" compiles for the CUDA target (ptxas, no GPU needed); "cuda-on-cpu"
# runs the CUDA target's loop mapping on the CPU against PyTorch's outputs.
CONFIGS = {
    "single": [],
    "cuda": None,
    "cuda-on-cpu": ["--target", "cuda-on-cpu"],
    "data2": ["--mesh", "data=2"],
    "auto-model2": ["--mesh", "model=2", "--strategy", "auto", "--cluster", "cpu-local"],
    "auto-data2-model2": ["--mesh", "data=2,model=2", "--strategy", "auto",
                          "--cluster", "cpu-local"],
}
# Sequence parallelism: input_ids' sequence dimension on seq=2, each
# attention in one form (a shardings file written per run).
SEQUENCE_FORMS = ("gather", "ulysses", "ring", "zigzag")
for form in SEQUENCE_FORMS:
    CONFIGS["seq2-" + form] = ["--mesh", "seq=2"]
# Expert parallelism (docs/experts.md), folded over the data ranks: the
# batch split over expert=2 and every MoE dispatch's experts too (two
# all_to_alls per MoE layer), and each expert's FFN also split over model=2.
CONFIGS["expert2"] = ["--mesh", "expert=2"]
CONFIGS["expert2-model2"] = ["--mesh", "expert=2,model=2"]
SHARDINGS = {"expert2": {"mesh": {"expert": 2}, "shardings": {"input_ids": ["expert", None]},
                         "experts": "expert"},
             "expert2-model2": {"mesh": {"expert": 2, "model": 2},
                                "shardings": {"input_ids": ["expert", None]},
                                "experts": {"axis": "expert", "ffn": "model"}}}
for form in SEQUENCE_FORMS:
    SHARDINGS["seq2-" + form] = {"mesh": {"seq": 2}, "shardings": {"input_ids": [None, "seq"]},
                                 "attention": form}


def config_shardings(config, directory):
    """Writes the --shardings file of a configuration that has one; its path."""
    path = os.path.join(directory, "shardings.json")
    with open(path, "w") as f:
        json.dump(SHARDINGS[config], f)
    return path


def first_problem(text):
    """The line that says why a run failed: partita's own diagnostic when
    there is one, else the last line it printed."""
    lines = [l for l in text.splitlines() if l.strip()]
    for l in lines:
        if "error" in l or "MISMATCH" in l or "mismatch" in l:
            return l.strip()
    return lines[-1].strip() if lines else "(no output)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--partita", default="partita")
    ap.add_argument("--only", default="")
    ap.add_argument("--configs", default="single,data2,auto-model2,auto-data2-model2")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            sys.exit(f"run_real_models: unknown configuration '{c}' "
                     f"(known: {', '.join(CONFIGS)})")
    models = sorted(m for m in os.listdir(args.dir)
                    if os.path.isfile(os.path.join(args.dir, m, "model.onnx"))
                    and (not only or m in only))
    if not models:
        sys.exit(f"run_real_models: no exported model in '{args.dir}'")
    runs = failed = 0
    for m in models:
        for c in configs:
            tmp = None
            if CONFIGS[c] is None:  # compile only
                tmp = tempfile.TemporaryDirectory(prefix="partita-real-")
                cmd = [args.partita, "compile", os.path.join(args.dir, m), "--target", "cuda",
                       "-o", os.path.join(tmp.name, "artifact")]
            else:
                cmd = [args.partita, "run", os.path.join(args.dir, m), "--check",
                       "--print-limit", "0"] + CONFIGS[c]
                if c in SHARDINGS:
                    tmp = tempfile.TemporaryDirectory(prefix="partita-real-")
                    cmd += ["--shardings", config_shardings(c, tmp.name)]
            start = time.monotonic()
            try:
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, timeout=args.timeout)
                out, rc = p.stdout, p.returncode
            except subprocess.TimeoutExpired as e:
                out, rc = f"timed out after {args.timeout:.0f}s", -1
            took = time.monotonic() - start
            runs += 1
            # A passing run says ok (one device) or OK (ranks) for its
            # outputs and names none as a mismatch.
            if tmp:
                tmp.cleanup()
            ok = (rc == 0 and "MISMATCH" not in out
                  and (CONFIGS[c] is None or ": ok" in out or ": OK" in out))
            if ok:
                print(f"{m} {c}: OK {took:.1f}s", flush=True)
            else:
                failed += 1
                print(f"{m} {c}: FAIL (exit {rc}) {first_problem(out)}", flush=True)
    print(f"real models: {len(models)} models, {runs} runs, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
