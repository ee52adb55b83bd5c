"""Writes small ONNX models (good and deliberately broken) for the importer
lit tests. Usage: make_models.py OUTDIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, inits=(), opset=17, check=True):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    if check:
        onnx.checker.check_model(m)
    return m


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def main(out):
    os.makedirs(out, exist_ok=True)
    save = lambda m, name: onnx.save(m, os.path.join(out, name))

    # A good model: MLP with a dynamic batch and PyTorch-style shape arithmetic.
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "w")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["b"], name="batch", axis=0),
        helper.make_node("Unsqueeze", ["b", "zero1"], ["b1"], name="unsq"),
        helper.make_node("Concat", ["b1", "minus1"], ["newshape"], name="cat", axis=0),
        helper.make_node("Reshape", ["r", "newshape"], ["y"], name="reshape"),
    ]
    consts = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
              numpy_helper.from_array(np.array([0], np.int64), "zero1"),
              numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    save(model(nodes, [vi("x", ["N", 4])], [vi("y", ["N", 3])], [w] + consts), "mlp.onnx")

    # Truncated file.
    data = model(nodes, [vi("x", [2, 4])], [vi("y", [2, 3])], [w] + consts).SerializeToString()
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "not_onnx.onnx"), "wb") as f:
        f.write(b"this is plain text, not a protobuf\n")

    # A cycle: a = Relu(b), b = Relu(a).
    cyc = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
           helper.make_node("Relu", ["a"], ["b"], name="second")]
    save(model(cyc, [vi("x", [2])], [vi("b", [2])], check=False), "cycle.onnx")

    # A dangling value: 'ghost' is never defined.
    dang = [helper.make_node("Add", ["x", "ghost"], ["y"], name="adder")]
    save(model(dang, [vi("x", [2])], [vi("y", [2])], check=False), "dangling.onnx")

    # Mismatched shapes: [2,3] + [4,5] do not broadcast.
    mis = [helper.make_node("Add", ["x", "z"], ["y"], name="bad_add")]
    save(model(mis, [vi("x", [2, 3]), vi("z", [4, 5])], [vi("y", [2, 3])], check=False),
         "mismatch.onnx")

    # Declared output shape disagrees with the computed one.
    decl = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    save(model(decl, [vi("x", [2, 3])], [vi("y", [3, 2])], check=False), "declared.onnx")

    # Unknown op (a near-miss of a supported one).
    unk = [helper.make_node("Gelu", ["x"], ["y"], name="gelu_1")]
    save(model(unk, [vi("x", [2])], [vi("y", [2])], check=False), "unknown_op.onnx")

    # Out-of-range attribute.
    oor = [helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=5)]
    save(model(oor, [vi("x", [2, 3])], [vi("y", [2, 3])], check=False), "axis_range.onnx")

    # External data: a good one, and one whose data file is missing.
    for name, keep in (("external", True), ("external_missing", False)):
        sub = os.path.join(out, name)
        os.makedirs(sub, exist_ok=True)
        t = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
        m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                  [vi("x", [2, 4])], [vi("y", [2, 3])], [t])
        onnx.save_model(m, os.path.join(sub, "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin",
                        size_threshold=0)
        if not keep:
            os.remove(os.path.join(sub, "weights.bin"))


if __name__ == "__main__":
    main(sys.argv[1])
