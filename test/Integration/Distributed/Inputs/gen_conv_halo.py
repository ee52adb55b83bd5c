"""Writes OUT/conv-halo.onnx: convolutions and pooling over a 16x12 image, each
with a different window, for splitting the spatial dimensions across ranks
(test/Integration/Distributed/split-conv-halo.test).

x: (2, 3, 16, 12), random inputs of either sign (so that max pooling's
padding differs from zero). Outputs, all with output size * stride == input
size in H and W:
  conv_s1      3x3, stride 1, pads 1          (halo 1 + 1)
  conv_s2      3x3, stride 2, pads H 0/1, W 1/1 (asymmetric: low 0, high 1)
  conv_dil     3x3, dilation 3, pads H 5/1, W 3/3, bias
               (extent 7: H halo 5 low -- two blocks on 4 ranks -- and 1 high)
  conv_k1s2    1x1, stride 2 (reads every other row: no halo, rows dropped)
  conv_dw      3x3 depthwise (group 3), pads 1
  maxpool_s1   3x3, stride 1, pads 1
  maxpool_s2   3x3, stride 2, pads 1/1 (H), 1/1 (W)
  avgpool_ex   3x3, stride 1, pads 1, count_include_pad = 0
  avgpool_in   3x3, stride 2, pads 1, count_include_pad = 1
  chain        conv_s1 -> relu -> maxpool 2x2 stride 2 -> conv 3x3 pads 1

and two models whose H cannot split with halo exchange:
  OUT/conv-stride.onnx   3x3 conv, stride 2, no pads: 16 rows -> 7 (7 * 2 != 16)
  OUT/pool-ceil.onnx     3x3 max pool, stride 2, ceil_mode: a partial last window
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(5)
inits = []


def weight(name, shape):
    inits.append(numpy_helper.from_array(
        rng.standard_normal(shape).astype(np.float32), name))
    return name


nodes = []


def conv(out_name, x, cin, cout, k, **attrs):
    inputs = [x, weight(out_name + ".w", (cout, cin // attrs.get("group", 1), k, k))]
    if attrs.pop("bias", False):
        inputs.append(weight(out_name + ".b", (cout,)))
    nodes.append(helper.make_node("Conv", inputs, [out_name], kernel_shape=[k, k],
                                  **attrs))


conv("conv_s1", "x", 3, 4, 3, pads=[1, 1, 1, 1])
conv("conv_s2", "x", 3, 4, 3, strides=[2, 2], pads=[0, 1, 1, 1])
conv("conv_dil", "x", 3, 2, 3, dilations=[3, 3], pads=[5, 3, 1, 3], bias=True)
conv("conv_k1s2", "x", 3, 2, 1, strides=[2, 2])
conv("conv_dw", "x", 3, 3, 3, pads=[1, 1, 1, 1], group=3)
nodes.append(helper.make_node("MaxPool", ["x"], ["maxpool_s1"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]))
nodes.append(helper.make_node("MaxPool", ["x"], ["maxpool_s2"], kernel_shape=[3, 3],
                              strides=[2, 2], pads=[1, 1, 1, 1]))
nodes.append(helper.make_node("AveragePool", ["x"], ["avgpool_ex"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1], count_include_pad=0))
nodes.append(helper.make_node("AveragePool", ["x"], ["avgpool_in"], kernel_shape=[3, 3],
                              strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1))
nodes.append(helper.make_node("Relu", ["conv_s1"], ["r1"]))
nodes.append(helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2],
                              strides=[2, 2]))
conv("chain", "p1", 4, 3, 3, pads=[1, 1, 1, 1], bias=True)

shapes = {
    "conv_s1": [2, 4, 16, 12], "conv_s2": [2, 4, 8, 6], "conv_dil": [2, 2, 16, 12],
    "conv_k1s2": [2, 2, 8, 6], "conv_dw": [2, 3, 16, 12], "maxpool_s1": [2, 3, 16, 12], "maxpool_s2": [2, 3, 8, 6],
    "avgpool_ex": [2, 3, 16, 12], "avgpool_in": [2, 3, 8, 6], "chain": [2, 3, 8, 6],
}
graph = helper.make_graph(
    nodes, "conv_halo",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 16, 12])],
    [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model, full_check=True)
onnx.save(model, out + "/conv-halo.onnx")


def single(path, node, out_shape):
    g = helper.make_graph(
        [node], "infeasible",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


single(out + "/conv-stride.onnx",
       helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2]),
       [1, 2, 7, 7])
single(out + "/pool-ceil.onnx",
       helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                        ceil_mode=1),
       [1, 2, 8, 8])
