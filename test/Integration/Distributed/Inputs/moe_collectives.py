"""Checks a `partita run --report` file against expert parallelism's
communication (docs/experts.md, ../shared/REFERENCES.md): per MoE block, one
all_to_all into the experts and one back, each rank sending (P-1)/P of its
[E, C, H] slot buffer (C = its groups' slots per expert; at capacity factor
cf, E*C = cf*T*k for its T tokens: the published T*k*h*(EP-1)/EP each way),
and with the experts' FFN split over M ranks one all_reduce of the same
buffer per block. Prints one line per kind; exit status 1 on a mismatch.

  moe_collectives.py REPORT --experts E --slots C --hidden H --blocks L
      [--ffn-parts M] [--bytes 4]
"""
import argparse
import collections
import json
import sys

p = argparse.ArgumentParser()
p.add_argument("report")
p.add_argument("--experts", type=int, required=True)
p.add_argument("--slots", type=int, required=True)
p.add_argument("--hidden", type=int, required=True)
p.add_argument("--blocks", type=int, required=True)
p.add_argument("--ffn-parts", type=int, default=1)
p.add_argument("--bytes", type=int, default=4)
a = p.parse_args()

buffer = a.experts * a.slots * a.hidden * a.bytes
expect = {"all_to_all": (2 * a.blocks, 2 * a.blocks * buffer)}
if a.ffn_parts > 1:
    expect["all_reduce"] = (a.blocks, a.blocks * buffer)
seen = collections.defaultdict(lambda: [0, 0])
for c in json.load(open(a.report))["collectives"]:
    s = seen[c["kind"]]
    s[0] += 1
    s[1] += c["bytes_per_rank"]
ok = True
for kind in sorted(set(seen) | set(expect)):
    count, size = expect.get(kind, (0, 0))
    got = seen.get(kind, [0, 0])
    match = got == [count, size]
    ok &= match
    print(f"experts: {kind} x{got[0]} {got[1]} B/rank; formula x{count} {size} B/rank: "
          f"{'ok' if match else 'MISMATCH'}")
sys.exit(0 if ok else 1)
