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

    # Conv whose weight has rank 1: the kernel shape was read from
    # shape[2:] of the weight (out of bounds; SmallVector size abort).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 3, 3])
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c")
    graph = helper.make_graph([node], "conv_rank1_weight", [x, w], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    save(model, os.path.join(out, "conv-rank1-weight.onnx"))


if __name__ == "__main__":
    main(sys.argv[1])
