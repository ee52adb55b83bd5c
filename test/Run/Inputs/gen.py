"""Writes the tensors the test/Run lit tests feed to `partita run`.

usage: gen.py OUTDIR
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(name, array):
    np.save(os.path.join(out, name), array)


a = np.arange(6, dtype=np.float32).reshape(2, 3)
save("a.npy", a)
save("ones.npy", np.ones((2, 3), np.float32))
save("b32.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
save("a64.npy", a.astype(np.float64))
save("a_t.npy", a.T.copy())
save("a_i32.npy", a.astype(np.int32))
# Elementwise expected value and a wrong one for --check.
save("elementwise_expected.npy", (a + 1) * 2 - 1)
bad = (a + 1) * 2 - 1
bad[1, 2] += 0.5
save("elementwise_bad.npy", bad)
# Within f32 tolerance (rtol 1e-4): passes --check.
save("elementwise_close.npy", ((a + 1) * 2 - 1) * (1 + 2e-5))

# multi.mlir inputs.
save("x.npy", np.array([-1.0, 2.0, 0.0, 3.5], np.float32))
save("n.npy", np.array([1, -2, 3, 1 << 40], np.int64))

# dtypes.mlir inputs, one per dtype.
save("d.npy", np.array([0.5, -1.25, 1e300], np.float64))
save("h.npy", np.array([0.5, -1.25, 1000], np.float16))
# bf16 as raw 2-byte void ('|V2'), the layout partita writes: 1.5, -2, 3.
save("bf.npy", np.array([0x3FC0, 0xC000, 0x4040], np.uint16).view("V2"))
save("i8.npy", np.array([1, -3, 100], np.int8))
save("i16.npy", np.array([2, -3, 181], np.int16))
save("i32.npy", np.array([7, -8, 2**31 - 1], np.int32))
save("u8.npy", np.array([0, 128, 255], np.uint8))
save("u64.npy", np.array([1, 2**64 - 1], np.uint64))
save("s.npy", np.array(2.5, np.float32))
save("r4.npy", np.arange(4, dtype=np.float32).reshape(1, 2, 1, 2))

# Bad files for the diagnostics.
save("fortran.npy", np.asfortranarray(a))
with open(os.path.join(out, "garbage.npy"), "wb") as f:
    f.write(b"not an npy file")
with open(os.path.join(out, "a.txt"), "w") as f:
    f.write("1 2 3\n")
save("complex.npy", np.array([1 + 2j], np.complex64))

# ONNX TensorProto inputs/expected outputs, when the onnx package is there.
try:
    from onnx import numpy_helper

    def save_pb(name, array):
        with open(os.path.join(out, name), "wb") as f:
            f.write(numpy_helper.from_array(array).SerializeToString())

    save_pb("a.pb", a)
    save_pb("ones.pb", np.ones((2, 3), np.float32))
    save_pb("elementwise_expected.pb", (a + 1) * 2 - 1)
except ImportError:
    pass

with open(os.path.join(out, "garbage.pb"), "wb") as f:
    f.write(b"\xff\xff\xff not a tensor")

# parallel-loops.mlir: layer norm, x * ln(x), softmax over the last axis.
rng = np.random.RandomState(3)
px = rng.randn(4, 64, 256).astype(np.float32)
ps = rng.rand(256).astype(np.float32) + 0.5
pb = rng.randn(256).astype(np.float32)
save("par_x.npy", px)
save("par_s.npy", ps)
save("par_b.npy", pb)
mean = px.mean(-1, keepdims=True)
var = ((px - mean) ** 2).mean(-1, keepdims=True)
ln = (px - mean) / np.sqrt(var + 1e-5) * ps + pb
z = ln * px
e = np.exp(z - z.max(-1, keepdims=True))
save("par_expected.npy", (e / e.sum(-1, keepdims=True)).astype(np.float32))
