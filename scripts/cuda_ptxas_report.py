#!/usr/bin/python3
"""Assemble every kernel of a CUDA-target compilation with ptxas and report
what each uses.

  partita compile MODEL --target cuda --cuda-format isa --cuda-kernels DIR -o ART
  scripts/cuda_ptxas_report.py DIR [--arch sm_90] [--ptxas PATH] [--markdown]

Runs `ptxas -arch=ARCH -v` on each DIR/*.ptx and prints one line per kernel:
registers, shared memory, stack frame and spills. Exits non-zero when ptxas
rejects a kernel (its first error line is printed) or when a kernel spills.
"""

import argparse
import glob
import os
import re
import subprocess
import sys


def assemble(ptxas, arch, path):
    """Returns (ok, info dict or error line)."""
    proc = subprocess.run([ptxas, f"-arch={arch}", "-v", path, "-o", os.devnull],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = proc.stdout
    if proc.returncode != 0:
        errors = [l for l in text.splitlines() if "error" in l.lower()] or text.splitlines()
        return False, errors[0] if errors else f"ptxas exit code {proc.returncode}"
    info = {"registers": 0, "smem": 0, "stack": 0, "spill_stores": 0, "spill_loads": 0}
    if m := re.search(r"Used (\d+) registers", text):
        info["registers"] = int(m.group(1))
    if m := re.search(r"(\d+) bytes smem", text):
        info["smem"] = int(m.group(1))
    if m := re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads",
                      text):
        info["stack"], info["spill_stores"], info["spill_loads"] = map(int, m.groups())
    return True, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("--arch", default="sm_90")
    cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    parser.add_argument("--ptxas", default=os.path.join(cuda_home, "bin", "ptxas"))
    parser.add_argument("--markdown", action="store_true", help="a markdown table")
    args = parser.parse_args(argv)
    files = sorted(glob.glob(os.path.join(args.dir, "*.ptx")),
                   key=lambda p: [int(t) if t.isdigit() else t
                                  for t in re.split(r"(\d+)", os.path.basename(p))])
    if not files:
        print(f"cuda_ptxas_report: no .ptx files in {args.dir}", file=sys.stderr)
        return 2
    failed, spilled, rows = 0, 0, []
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0]
        ok, info = assemble(args.ptxas, args.arch, path)
        if not ok:
            failed += 1
            print(f"{name}: ptxas rejected it: {info}")
            continue
        spilled += int(info["spill_stores"] + info["spill_loads"] > 0)
        rows.append((name, info))
    if args.markdown:
        print("| kernel | registers | shared memory (B) | stack (B) | spills (B) |")
        print("|---|---:|---:|---:|---:|")
        for name, i in rows:
            print(f"| {name} | {i['registers']} | {i['smem']} | {i['stack']} | "
                  f"{i['spill_stores'] + i['spill_loads']} |")
    else:
        for name, i in rows:
            print(f"{name}: {i['registers']} registers, {i['smem']} bytes smem, "
                  f"{i['stack']} bytes stack, {i['spill_stores'] + i['spill_loads']} bytes spilled")
    regs = [i["registers"] for _, i in rows]
    print(f"kernels: {len(rows)} of {len(files)} accepted by ptxas -arch={args.arch}"
          + (f"; registers {min(regs)}-{max(regs)}" if regs else "")
          + f"; {spilled} spill")
    return 1 if failed or spilled else 0


if __name__ == "__main__":
    sys.exit(main())
