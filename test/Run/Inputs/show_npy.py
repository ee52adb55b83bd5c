"""Prints every .npy in a directory: name, dtype, shape, values (lit helper)."""
import os
import sys

import numpy as np

for name in sorted(os.listdir(sys.argv[1])):
    a = np.load(os.path.join(sys.argv[1], name))
    extra = ""
    values = a.ravel().tolist() if a.ndim > 1 else a.tolist()  # flat: FileCheck-friendly
    if a.dtype.kind == "V":  # bfloat16 stored as 2-byte void
        bits = a.view(np.uint16).astype(np.uint32) << 16
        values = bits.view(np.float32).tolist()
        extra = " bf16"
    print(f"{name} {a.dtype if a.dtype.kind != 'V' else a.dtype.str} {a.shape}{extra} {values}")
