"""Compares the parameters of two partita.graph JSON models by name."""
import json
import sys

import numpy as np

a, b = (json.load(open(p)) for p in sys.argv[1:3])
other = {p["name"]: np.array(p["data"], dtype=np.float32) for p in b["parameters"]}
for p in a["parameters"]:
    d = float(np.max(np.abs(np.array(p["data"], dtype=np.float32) - other[p["name"]])))
    print(f"{p['name']}: max abs diff {d:.3g} ({'ok' if d <= 1e-5 else 'DIFFERENT'})")
