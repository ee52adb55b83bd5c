"""Summarizes a `partita run --report` file: the collectives per layer
(`layers.N.` in the location) and per kind, one line each, sorted."""
import collections
import json
import re
import sys

report = json.load(open(sys.argv[1]))
per_layer = collections.Counter()
for c in report["collectives"]:
    m = re.search(r"layers\.(\d+)\.", c["location"])
    layer = m.group(1) if m else "none"
    per_layer[(layer, c["kind"])] += 1
    assert c["bytes_per_rank"] > 0 and c["axes"] and c["tensor"], c
for (layer, kind), n in sorted(per_layer.items()):
    print(f"layer {layer}: {kind} x{n}")
print("counts:", ", ".join(f"{k}={v}" for k, v in sorted(report["counts"].items())))
