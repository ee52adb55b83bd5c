"""Models that crashed the ONNX importer under bench/fuzz.sh (one per bug)."""
import os
import sys

from onnx import TensorProto, helper, save


def main(out):
    os.makedirs(out, exist_ok=True)
    # Gather with only one input: the missing `indices` operand reached shape
    # inference as a null Value (SEGV in inferGather).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])
    node = helper.make_node("Gather", ["x"], ["y"], name="g", axis=0)
    graph = helper.make_graph([node], "gather_one_input", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    save(model, os.path.join(out, "gather-one-input.onnx"))


if __name__ == "__main__":
    main(sys.argv[1])
