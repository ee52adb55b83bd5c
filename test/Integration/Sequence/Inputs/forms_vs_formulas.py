"""Checks a `partita run --report` file against the published communication
of a sequence-parallel scheme (docs/sequence.md, ../shared/REFERENCES.md):
per transformer layer, the number of collectives of each kind and the bytes
each rank sends. Prints one line per layer and exits non-zero on a mismatch.

  forms_vs_formulas.py REPORT --scheme gather|ulysses|ring|zigzag|megatron-sp
      --parts P --batch B --seq S --hidden H [--layers L] [--bytes 4]
      [--plan PLAN.json]

With --plan (`partita plan --composites --cluster C -o PLAN.json`), also
checks that the estimate `auto` priced the scheme's form with
(passes/Sequence/FormCosts.cpp) counts the same collectives and bytes, in
the cost model's sizes: an all_gather by its result (P blocks), an
all_to_all by the block it sends from, a permute by the tensor sent.
"""
import argparse
import collections
import json
import re
import sys

p = argparse.ArgumentParser()
p.add_argument("report")
p.add_argument("--scheme", required=True,
               choices=["gather", "ulysses", "ring", "zigzag", "megatron-sp"])
p.add_argument("--parts", type=int, required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--seq", type=int, required=True)
p.add_argument("--hidden", type=int, required=True)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--bytes", type=int, default=4)
p.add_argument("--plan")
a = p.parse_args()

P, full = a.parts, a.batch * a.seq * a.hidden  # elements of one activation
block = full // P
# What each rank sends per layer: {kind: (count, elements sent)}.
if a.scheme == "gather":  # K and V blocks to every peer
    expect = {"all_gather": (2, 2 * block)}
elif a.scheme == "ulysses":  # q, k, v and the output: (P-1)/P of each block
    expect = {"all_to_all": (4, 4 * block * (P - 1) // P)}
elif a.scheme == "ring":  # the K and V blocks on, P-1 times
    expect = {"collective_permute": (2 * (P - 1), 2 * (P - 1) * block)}
elif a.scheme == "zigzag":
    # The ring's permutes, plus moving q, K, V from the block layout (rank r:
    # chunks 2r, 2r+1 of 2P) to the zigzag one (chunks r, 2P-1-r) and the
    # output back: the even chunks and the odd chunks each a permutation of
    # the ranks, sent as one half-block permute per distinct nonzero shift.
    zig = lambda c: c if c < P else 2 * P - 1 - c
    def shifts(targets):
        return len({(t - r) % P for r, t in enumerate(targets)} - {0})
    into = shifts([zig(2 * r) for r in range(P)]) + shifts([zig(2 * r + 1) for r in range(P)])
    held = [(r, 2 * P - 1 - r) if r % 2 == 0 else (2 * P - 1 - r, r) for r in range(P)]
    back = shifts([e // 2 for e, o in held]) + shifts([o // 2 for e, o in held])
    relayout = 3 * into + back
    expect = {"collective_permute": (2 * (P - 1) + relayout,
                                     2 * (P - 1) * block + relayout * block // 2)}
else:  # Megatron-SP: 2 reduce-scatters of the partial b*s*h, 2 all-gathers of blocks
    expect = {"reduce_scatter": (2, 2 * full), "all_gather": (2, 2 * block)}

report = json.load(open(a.report))
seen = collections.defaultdict(lambda: [0, 0])
for c in report["collectives"]:
    m = re.search(r"layers\.(\d+)\.", c["location"])
    if not m:
        continue
    s = seen[(int(m.group(1)), c["kind"])]
    s[0] += 1
    # bytes_per_rank is the local block a rank sends into the collective;
    # an all_to_all keeps 1/P of it, the others send all of it.
    sent = c["bytes_per_rank"]
    if c["kind"] == "all_to_all":
        sent = sent * (P - 1) // P
    s[1] += sent

ok = True
for layer in range(a.layers):
    kinds = {k for (l, k) in seen if l == layer} | set(expect)
    for kind in sorted(kinds):
        count, elements = expect.get(kind, (0, 0))
        got = seen.get((layer, kind), [0, 0])
        match = got[0] == count and got[1] == elements * a.bytes
        ok &= match
        print(f"{a.scheme} layer {layer}: {kind} x{got[0]} {got[1]} B/rank; "
              f"formula x{count} {elements * a.bytes} B/rank: {'ok' if match else 'MISMATCH'}")

if a.plan:
    attention = json.load(open(a.plan))["attention"]
    [(kind, (count, elements))] = expect.items()
    sized = {"all_gather": P, "all_to_all": P / (P - 1)}.get(kind, 1) * elements * a.bytes
    for att in attention:
        est = [e for e in att.get("estimates", []) if e["form"] == a.scheme]
        match = (len(est) == 1 and est[0]["collectives"] == count and
                 abs(est[0]["bytes"] - sized) < 0.5)
        ok &= match
        got = f"x{est[0]['collectives']} {est[0]['bytes']:.0f} B" if est else "no estimate"
        print(f"{a.scheme} estimate for '{att['tensor']}': {got}; "
              f"formula x{count} {sized:.0f} B: {'ok' if match else 'MISMATCH'}")
    if not attention:
        print("no attention in the plan: MISMATCH")
        ok = False
sys.exit(0 if ok else 1)
