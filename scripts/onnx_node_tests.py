#!/usr/bin/python3
"""Run the ONNX backend node tests through `partita import` and report coverage.

Selects every test directory under the ONNX node-test data whose model uses
only ops of the foundation list (scripts/partita_ops.py), imports each with
`partita import TESTDIR -o /dev/null`, and reports per-op and total pass rates.

Examples:
  scripts/onnx_node_tests.py
  scripts/onnx_node_tests.py --filter softmax --partita build/bin/partita
  scripts/onnx_node_tests.py --markdown docs/onnx-node-coverage.md --min-rate 0.95
  scripts/onnx_node_tests.py --mode distributed [--sample 60]
  scripts/onnx_node_tests.py --mode auto --markdown docs/onnx-node-auto-coverage.md

--mode distributed runs, for every selected test whose first input has a
leading dimension divisible by 2, `partita run TESTDIR --mesh data=2
--shardings FILE --check` with FILE sharding that dimension on `data`
(two MPI ranks; the outputs are assembled on rank 0 and compared with the
test's expected outputs). --sample N keeps N of those tests, evenly spaced
in name order (deterministic).

--mode auto runs the same tests with `partita run TESTDIR --mesh data=2
--strategy auto --cluster cpu-local --check` (no shardings file: the
planner's ILP chooses every sharding, lib/Planner/Solver.cpp).

--mode cuda-on-cpu runs every test through the CUDA target's loop mapping
executed on the CPU (`partita run TESTDIR --target cuda-on-cpu --check`):
the blocks x threads linearization, guards, reductions in the thread, sunk
loads and one-thread code checked against the expected outputs, no GPU.

--mode cuda-run runs every test on the GPU (`partita run TESTDIR --target
cuda --check`); it needs one.

--mode cuda compiles every test for the CUDA target (`partita compile
TESTDIR --target cuda -o DIR`: kernels through ptxas to sm_90 cubin,
contractions to cuBLAS, nothing left on the host); it runs nothing, so it
needs no GPU.
"""

import argparse
import collections
import concurrent.futures
import os
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from partita_ops import FOUNDATION_OPS, ONNX_DOMAINS  # noqa: E402

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
SRC_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Result:
    """Outcome of importing one node test."""
    name: str
    ops: list
    passed: bool = False
    diagnostic: str = ""
    extra: dict = field(default_factory=dict)


def model_ops(model_path):
    """Returns the set of (domain, op_type) used by the model's main graph,
    or None if the model cannot be loaded."""
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception:  # a malformed model is simply not selected
        return None
    return {(n.domain, n.op_type) for n in model.graph.node}


def select_tests(data_dir, allowed_ops, name_filter=None):
    """Returns [(test_name, sorted op list)] for every test whose ops are all
    in allowed_ops (default ONNX domain only), sorted by name."""
    selected = []
    for name in sorted(os.listdir(data_dir)):
        if name_filter and name_filter not in name:
            continue
        model_path = os.path.join(data_dir, name, "model.onnx")
        if not os.path.isfile(model_path):
            continue
        ops = model_ops(model_path)
        if not ops:
            continue
        if all(dom in ONNX_DOMAINS and op in allowed_ops for dom, op in ops):
            selected.append((name, sorted({op for _, op in ops})))
    return selected


def first_input_leading_dim(test_dir):
    """Returns (name, leading dim) of the model's first graph input that is
    not an initializer, taking the dimension from test_data_set_0/input_0.pb
    when the model leaves it symbolic; None if there is no such input or it
    is a scalar."""
    try:
        model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
    except Exception:
        return None
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if not inputs or not inputs[0].type.HasField("tensor_type"):
        return None
    dims = inputs[0].type.tensor_type.shape.dim
    if not dims:
        return None
    if dims[0].HasField("dim_value"):
        return inputs[0].name, dims[0].dim_value
    pb = os.path.join(test_dir, "test_data_set_0", "input_0.pb")
    try:
        t = onnx.TensorProto()
        with open(pb, "rb") as f:
            t.ParseFromString(f.read())
    except Exception:
        return None
    return (inputs[0].name, t.dims[0]) if t.dims else None


def select_distributed(data_dir, tests, sample=None):
    """The tests whose first input's leading dimension is divisible by 2,
    with their shardings ({name: input}); `sample` keeps that many, evenly
    spaced."""
    picked = []
    for name, ops in tests:
        lead = first_input_leading_dim(os.path.join(data_dir, name))
        if lead and lead[1] > 0 and lead[1] % 2 == 0:
            picked.append(((name, ops), lead[0]))
    eligible = len(picked)
    if sample and sample < len(picked):
        picked = [picked[i * len(picked) // sample] for i in range(sample)]
    return [t for t, _ in picked], {t[0]: inp for t, inp in picked}, eligible


SHARD_DIR = None


def shardings_file(test_name, input_name, rank):
    """Writes {"mesh": {"data": 2}, "shardings": {input: ["data", null...]}}."""
    global SHARD_DIR
    if SHARD_DIR is None:
        SHARD_DIR = tempfile.mkdtemp(prefix="partita-node-shardings-")
    path = os.path.join(SHARD_DIR, test_name + ".json")
    with open(path, "w") as f:
        json.dump({"mesh": {"data": 2},
                   "shardings": {input_name: ["data"] + [None] * (rank - 1)}}, f)
    return path


def first_line(text):
    """First non-empty line of text, stripped (or '')."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


AUTO_CLUSTER = "cpu-local"
MULTI_RANK_MODES = ("distributed", "auto")


def auto_plan_summary(stdout):
    """From `run --strategy auto` output: (tensors the plan shards, collectives
    in the partitioned program), or None if the tables are missing."""
    sharded, colls, in_table = 0, None, False
    for line in stdout.splitlines():
        if line.startswith("tensor ") and "sharding" in line:
            in_table = True
            continue
        if in_table:
            if not line.strip() or line.startswith("reshards:"):
                in_table = False
            elif "{data" in line:
                sharded += 1
        if line.startswith("collectives: ") and colls is None:
            colls = int(line.split()[1].rstrip(","))
    return (sharded, colls) if colls is not None else None


def run_import(partita, test_dir, timeout, mode="import", shardings=None, extra=None):
    """Runs `partita import test_dir -o /dev/null` (mode "import") or
    `partita run test_dir --check` (mode "run": compile, run, compare with the
    expected outputs; mode "distributed": the same on --mesh data=2 with
    `shardings`; mode "auto": on --mesh data=2 with the planner's shardings,
    whose summary goes to `extra`); returns (passed, diagnostic)."""
    if mode == "cuda":
        with tempfile.TemporaryDirectory(prefix="partita-cuda-") as out:
            return run_command([partita, "compile", test_dir, "--target", "cuda",
                                "-o", os.path.join(out, "artifact")], test_dir, timeout, mode)
    if mode in ("cuda-run", "cuda-on-cpu"):
        target = "cuda" if mode == "cuda-run" else "cuda-on-cpu"
        return run_command([partita, "run", test_dir, "--target", target, "--check",
                            "--print-limit", "0"], test_dir, timeout, "run")
    if mode == "run":
        cmd = [partita, "run", test_dir, "--check", "--print-limit", "0"]
    elif mode == "distributed":
        cmd = [partita, "run", test_dir, "--check", "--print-limit", "0",
               "--mesh", "data=2", "--shardings", shardings]
    elif mode == "auto":
        cmd = [partita, "run", test_dir, "--check", "--print-limit", "0",
               "--mesh", "data=2", "--strategy", "auto", "--cluster", AUTO_CLUSTER]
    else:
        cmd = [partita, "import", test_dir, "-o", os.devnull]
    return run_command(cmd, test_dir, timeout, mode, extra)


def run_command(cmd, test_dir, timeout, mode, extra=None):
    """Runs one test's command; returns (passed, diagnostic)."""
    partita = cmd[0]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout}s"
    except OSError as err:
        return False, f"cannot run {partita}: {err}"
    if mode == "auto" and extra is not None:
        summary = auto_plan_summary(proc.stdout)
        if summary:
            extra["sharded_tensors"], extra["collectives"] = summary
    if proc.returncode == 0:
        return True, ""
    # The test directory is implied by the test name: drop it from the diagnostic.
    text = proc.stderr if proc.stderr.strip() else proc.stdout
    # With --check the failing comparison is on stdout ("check y: ... MISMATCH").
    if mode in ("distributed", "auto"):
        # mpirun's banners are noise: the first partita line is the cause.
        every = (proc.stderr + "\n" + proc.stdout).splitlines()
        lines = ([l for l in every if "error:" in l or "MISMATCH" in l]
                 or [l for l in every if "mpirun noticed" in l or "signal" in l]
                 or [l for l in every if any(c.isalnum() for c in l)])
        text = lines[0] if lines else text
    if mode == "run" and not proc.stderr.strip():
        text = "\n".join(l for l in proc.stdout.splitlines() if "mismatch" in l.lower()) or text
    diag = first_line(text).replace(test_dir + os.sep, "")
    if proc.returncode < 0:
        diag = f"crashed with signal {-proc.returncode}" + (f": {diag}" if diag else "")
    return False, diag or f"exit code {proc.returncode} with no diagnostic"


def run_all(partita, data_dir, tests, jobs, timeout, mode="import", shard_inputs=None):
    """Runs every selected test with `jobs` workers; returns [Result] in order."""
    def one(test):
        name, ops = test
        shardings = None
        if mode == "distributed":
            shardings = shardings_file(name, shard_inputs[name], rank_of_first_input(
                os.path.join(data_dir, name)))
        extra = {}
        passed, diag = run_import(partita, os.path.join(data_dir, name), timeout, mode,
                                  shardings, extra)
        return Result(name, ops, passed, diag, extra)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, tests))


def rank_of_first_input(test_dir):
    """Rank of the first non-initializer input (from input_0.pb if present)."""
    pb = os.path.join(test_dir, "test_data_set_0", "input_0.pb")
    try:
        t = onnx.TensorProto()
        with open(pb, "rb") as f:
            t.ParseFromString(f.read())
        return len(t.dims)
    except Exception:
        model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        first = [i for i in model.graph.input if i.name not in inits][0]
        return len(first.type.tensor_type.shape.dim)


def per_op_stats(results):
    """Returns {op: [selected, passed]}; a test counts for each op it uses."""
    stats = collections.defaultdict(lambda: [0, 0])
    for r in results:
        for op in r.ops:
            stats[op][0] += 1
            stats[op][1] += int(r.passed)
    return dict(sorted(stats.items()))


def rate(passed, total):
    """Pass rate in [0, 1]; an empty set counts as fully passing."""
    return passed / total if total else 1.0


def format_text(results, stats, per_op=True, verb="imported"):
    """Plain-text report: per-op lines (unless per_op is False), failures,
    and the total."""
    lines = []
    if per_op:
        lines.append(f"per-op pass rate ({verb}):")
        for op, (n, ok) in stats.items():
            lines.append(f"  {op:<24} {ok:>4}/{n:<4} {100 * rate(ok, n):6.1f}%")
    failures = [r for r in results if not r.passed]
    if failures:
        lines.append(f"failing tests ({len(failures)}):")
        lines += [f"  {r.name}: {r.diagnostic}" for r in failures]
    passed = len(results) - len(failures)
    lines.append(f"total: {passed}/{len(results)} {verb} "
                 f"({100 * rate(passed, len(results)):.1f}%)")
    return "\n".join(lines)


def format_markdown(results, stats, data_dir, mode="import"):
    """Markdown coverage table (generated; do not edit by hand)."""
    passed = sum(r.passed for r in results)
    out = [
        "# ONNX node-test " + {"import": "import", "run": "run (--check)",
                               "cuda": "compile for the CUDA target",
                               "cuda-run": "run on the GPU (--target cuda --check)",
                               "cuda-on-cpu": "run with the CUDA mapping on the CPU "
                                              "(--target cuda-on-cpu --check)",
                               "distributed": "run (--check)",
                               "auto": "run on data=2 with --strategy auto (--check)"}[mode]
        + " coverage",
        "",
        "Generated by `scripts/onnx_node_tests.py " + ("" if mode == "import" else "--mode " + mode + " ") + "--markdown`; do not edit by hand.",
        f"Tests: every node test in `{data_dir}` whose ops are all in the",
        "foundation list (`scripts/partita_ops.py`). A test counts for each op it uses.",
        "",
        "| ONNX op | tests | " + {"import": "imported", "cuda": "compiled"}.get(mode, "passed")
        + " | rate |",
        "|---|---:|---:|---:|",
    ]
    for op, (n, ok) in stats.items():
        out.append(f"| {op} | {n} | {ok} | {100 * rate(ok, n):.1f}% |")
    untested = sorted(FOUNDATION_OPS - set(stats))
    out += ["", f"**Total: {passed}/{len(results)} tests "
            + {"import": "imported", "cuda": "compiled for the CUDA target"}.get(
                mode, "ran and matched the expected outputs") + " "
            f"({100 * rate(passed, len(results)):.1f}%).**", ""]
    if untested:
        out += ["Foundation ops with no selected node test: "
                + ", ".join(untested) + ".", ""]
    if mode == "auto":
        out += auto_markdown(results)
    failures = [r for r in results if not r.passed]
    if failures:
        out += ["## Failing tests", "", "| test | diagnostic |", "|---|---|"]
        for r in failures:
            diag = r.diagnostic.replace("|", "\\|")
            out.append(f"| {r.name} | {diag} |")
        out.append("")
    return "\n".join(out)


def auto_markdown(results):
    """What the solver chose: how many plans shard something, and which keep
    every tensor whole."""
    planned = [r for r in results if "sharded_tensors" in r.extra]
    split = [r for r in planned if r.extra["sharded_tensors"] > 0]
    comm = [r for r in planned if r.extra["collectives"] > 0]
    split_ok = sum(r.passed for r in split)
    out = [f"Plans (cluster `{AUTO_CLUSTER}`): {len(split)} of {len(planned)} shard at least "
           f"one tensor on `data` ({split_ok} of those passed), {len(comm)} need collectives; "
           f"the others keep every tensor whole (the solver found splitting no faster).", ""]
    whole = [r.name for r in planned if r.extra["sharded_tensors"] == 0]
    if whole:
        out += ["Plans that shard nothing: " + ", ".join(whole) + ".", ""]
    if split:
        out += ["## Sharded plans", "", "| test | sharded tensors | collectives | passed |",
                "|---|---:|---:|---|"]
        for r in split:
            out.append(f"| {r.name} | {r.extra['sharded_tensors']} | "
                       f"{r.extra['collectives']} | {'yes' if r.passed else 'no'} |")
        out.append("")
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partita", default=os.path.join(SRC_ROOT, "build", "bin", "partita"),
                        help="partita binary (default: build/bin/partita)")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help=f"ONNX node-test directory (default: {DEFAULT_DATA})")
    parser.add_argument("--filter", metavar="SUBSTR",
                        help="only tests whose name contains SUBSTR")
    parser.add_argument("--markdown", metavar="FILE",
                        help="write a Markdown coverage table to FILE")
    parser.add_argument("--min-rate", type=float, default=None,
                        help="exit non-zero if the total pass rate is below this")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel workers")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds per test (default 60)")
    parser.add_argument("--mode",
                        choices=["import", "run", "distributed", "auto", "cuda", "cuda-run",
                                 "cuda-on-cpu"],
                        default="import",
                        help="import and verify (default), or compile, run and "
                             "--check against the expected outputs (on one device, "
                             "on --mesh data=2 with the first input's leading dim sharded, "
                             "or on --mesh data=2 with the shardings chosen by "
                             "--strategy auto; cuda: compile for the CUDA target)")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="distributed/auto modes: run N of the eligible tests, "
                             "evenly spaced")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only failures and the total")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.data):
        print(f"onnx_node_tests: no node-test data at {args.data}", file=sys.stderr)
        return 2
    tests = select_tests(args.data, FOUNDATION_OPS, args.filter)
    if not tests:
        print("onnx_node_tests: no test selected", file=sys.stderr)
        return 2
    shard_inputs = None
    if args.mode in MULTI_RANK_MODES:
        total_selected = len(tests)
        tests, shard_inputs, eligible = select_distributed(args.data, tests, args.sample)
        print(f"{eligible} of {total_selected} tests have a first input whose leading "
              f"dimension is divisible by 2" + (f" (sample of {args.sample})" if args.sample
                                                else ""))
    print(f"selected {len(tests)} node tests; running {args.partita} {args.mode} "
          f"with {args.jobs} workers", flush=True)
    results = run_all(args.partita, args.data, tests, args.jobs, args.timeout, args.mode,
                      shard_inputs)
    stats = per_op_stats(results)
    verb = {"import": "imported", "run": "passed (run --check)",
            "cuda": "compiled (compile --target cuda)",
            "cuda-run": "passed (run --target cuda --check)",
            "cuda-on-cpu": "passed (run --target cuda-on-cpu --check)",
            "distributed": "passed (run --mesh data=2 --check)",
            "auto": "passed (run --mesh data=2 --strategy auto --check)"}[args.mode]
    print(format_text(results, stats, per_op=not args.quiet, verb=verb))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(format_markdown(results, stats, args.data, args.mode))
    total = rate(sum(r.passed for r in results), len(results))
    if args.min_rate is not None and total < args.min_rate:
        print(f"onnx_node_tests: pass rate {100 * total:.1f}% is below "
              f"{100 * args.min_rate:.1f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
