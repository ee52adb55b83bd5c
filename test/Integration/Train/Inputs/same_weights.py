"""Compares two --save-weights directories: the same parameters, each within
a relative tolerance. Prints one line per parameter and exits non-zero on
any difference."""
import os
import sys

import numpy as np

a, b, rtol = sys.argv[1], sys.argv[2], float(sys.argv[3])
names = sorted(os.listdir(a))
if names != sorted(os.listdir(b)):
    sys.exit(f"different parameters: {names} vs {sorted(os.listdir(b))}")
bad = 0
for n in names:
    x, y = np.load(os.path.join(a, n)), np.load(os.path.join(b, n))
    err = float(np.max(np.abs(x - y)) / max(float(np.max(np.abs(x))), 1e-30))
    ok = x.shape == y.shape and err <= rtol
    bad += not ok
    print(f"{n[:-4]}: {'same' if ok else 'DIFFERENT'} (max relative difference {err:.1e})")
sys.exit(1 if bad else 0)
