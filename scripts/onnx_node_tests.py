#!/usr/bin/python3
"""Run the ONNX backend node tests through `partita import` and report coverage.

Selects every test directory under the ONNX node-test data whose model uses
only ops of the foundation list (scripts/partita_ops.py), imports each with
`partita import TESTDIR -o /dev/null`, and reports per-op and total pass rates.

Examples:
  scripts/onnx_node_tests.py
  scripts/onnx_node_tests.py --filter softmax --partita build/bin/partita
  scripts/onnx_node_tests.py --markdown docs/onnx-node-coverage.md --min-rate 0.95
"""

import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys
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


def first_line(text):
    """First non-empty line of text, stripped (or '')."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def run_import(partita, test_dir, timeout, mode="import"):
    """Runs `partita import test_dir -o /dev/null` (mode "import") or
    `partita run test_dir --check` (mode "run": compile, run, compare with the
    expected outputs); returns (passed, diagnostic)."""
    if mode == "run":
        cmd = [partita, "run", test_dir, "--check", "--print-limit", "0"]
    else:
        cmd = [partita, "import", test_dir, "-o", os.devnull]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout}s"
    except OSError as err:
        return False, f"cannot run {partita}: {err}"
    if proc.returncode == 0:
        return True, ""
    # The test directory is implied by the test name: drop it from the diagnostic.
    text = proc.stderr if proc.stderr.strip() else proc.stdout
    # With --check the failing comparison is on stdout ("check y: ... MISMATCH").
    if mode == "run" and not proc.stderr.strip():
        text = "\n".join(l for l in proc.stdout.splitlines() if "mismatch" in l.lower()) or text
    diag = first_line(text).replace(test_dir + os.sep, "")
    if proc.returncode < 0:
        diag = f"crashed with signal {-proc.returncode}" + (f": {diag}" if diag else "")
    return False, diag or f"exit code {proc.returncode} with no diagnostic"


def run_all(partita, data_dir, tests, jobs, timeout, mode="import"):
    """Runs every selected test with `jobs` workers; returns [Result] in order."""
    def one(test):
        name, ops = test
        passed, diag = run_import(partita, os.path.join(data_dir, name), timeout, mode)
        return Result(name, ops, passed, diag)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, tests))


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
        "# ONNX node-test " + ("import" if mode == "import" else "run (--check)") + " coverage",
        "",
        "Generated by `scripts/onnx_node_tests.py " + ("" if mode == "import" else "--mode run ") + "--markdown`; do not edit by hand.",
        f"Tests: every node test in `{data_dir}` whose ops are all in the",
        "foundation list (`scripts/partita_ops.py`). A test counts for each op it uses.",
        "",
        "| ONNX op | tests | " + ("imported" if mode == "import" else "passed") + " | rate |",
        "|---|---:|---:|---:|",
    ]
    for op, (n, ok) in stats.items():
        out.append(f"| {op} | {n} | {ok} | {100 * rate(ok, n):.1f}% |")
    untested = sorted(FOUNDATION_OPS - set(stats))
    out += ["", f"**Total: {passed}/{len(results)} tests "
            + ("imported" if mode == "import" else "ran and matched the expected outputs") + " "
            f"({100 * rate(passed, len(results)):.1f}%).**", ""]
    if untested:
        out += ["Foundation ops with no selected node test: "
                + ", ".join(untested) + ".", ""]
    failures = [r for r in results if not r.passed]
    if failures:
        out += ["## Failing tests", "", "| test | diagnostic |", "|---|---|"]
        for r in failures:
            diag = r.diagnostic.replace("|", "\\|")
            out.append(f"| {r.name} | {diag} |")
        out.append("")
    return "\n".join(out)


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
    parser.add_argument("--mode", choices=["import", "run"], default="import",
                        help="import and verify (default), or compile, run and "
                             "--check against the expected outputs")
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
    print(f"selected {len(tests)} node tests; running {args.partita} {args.mode} "
          f"with {args.jobs} workers", flush=True)
    results = run_all(args.partita, args.data, tests, args.jobs, args.timeout, args.mode)
    stats = per_op_stats(results)
    verb = "imported" if args.mode == "import" else "passed (run --check)"
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
