"""Writes a MobileNetV2-style ONNX model named the way torch.onnx.export
names torchvision's (nodes "/features/features.N/conv/...", folded
convolution weights "onnx::Conv_K" outside every layer, one zero bias
shared by many convolutions): inverted residual blocks of 1x1 expansion,
depthwise 3x3 and 1x1 projection with ReLU6 clips and residual adds.

The planner's layer tying once crashed on it (issue 16): a weight named
outside every layer but used by a tied layer's convolution had no layout.

usage: gen_mobilenet_style.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
nodes, inits = [], []
zero_bias = {}
counter = [500]


def weight(shape):
    counter[0] += 1
    name = f"onnx::Conv_{counter[0]}"
    data = (rng.standard_normal(shape) * (2.0 / np.prod(shape[1:])) ** 0.5).astype(np.float32)
    inits.append(numpy_helper.from_array(data, name))
    return name


def bias(channels):
    # torch's export deduplicates the all-zero folded biases into one.
    if channels not in zero_bias:
        zero_bias[channels] = f"onnx::Conv_zero{channels}"
        inits.append(numpy_helper.from_array(np.zeros(channels, np.float32),
                                             zero_bias[channels]))
    return zero_bias[channels]


def conv(prefix, x, cin, cout, k, stride=1, group=1):
    out = f"{prefix}/Conv_output_0"
    nodes.append(helper.make_node(
        "Conv", [x, weight((cout, cin // group, k, k)), bias(cout)], [out],
        name=f"{prefix}/Conv", kernel_shape=[k, k], strides=[stride, stride],
        pads=[k // 2] * 4, group=group))
    return out


def relu6(prefix, x):
    out = f"{prefix}/Clip_output_0"
    nodes.append(helper.make_node("Clip", [x, "clip_min", "clip_max"], [out],
                                  name=f"{prefix}/Clip"))
    return out


def block(i, x, cin, cout, stride, expand):
    p = f"/features/features.{i}/conv"
    hidden = cin * expand
    y = x
    if expand != 1:
        y = relu6(f"{p}/conv.0/conv.0.2", conv(f"{p}/conv.0/conv.0.0", y, cin, hidden, 1))
    y = relu6(f"{p}/conv.1/conv.1.2",
              conv(f"{p}/conv.1/conv.1.0", y, hidden, hidden, 3, stride, group=hidden))
    y = conv(f"{p}/conv.2", y, hidden, cout, 1)
    if stride == 1 and cin == cout:
        out = f"/features/features.{i}/Add_output_0"
        nodes.append(helper.make_node("Add", [x, y], [out], name=f"/features/features.{i}/Add"))
        return out
    return y


inits += [numpy_helper.from_array(np.array(0, np.float32), "clip_min"),
          numpy_helper.from_array(np.array(6, np.float32), "clip_max")]
x = relu6("/features/features.0/features.0.2",
          conv("/features/features.0/features.0.0", "input", 3, 8, 3, 2))
# (cin, cout, stride, expansion): repeated identical blocks are what the
# planner ties into one set of variables.
for i, (cin, cout, s, t) in enumerate([(8, 8, 1, 1), (8, 16, 2, 4), (16, 16, 1, 4),
                                       (16, 16, 1, 4), (16, 32, 2, 4), (32, 32, 1, 4)], 1):
    x = block(i, x, cin, cout, s, t)
x = relu6("/features/features.7/features.7.2", conv("/features/features.7/features.7.0",
                                                     x, 32, 64, 1))
nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="/GlobalAveragePool"))
nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="/Flatten", axis=1))
inits += [numpy_helper.from_array((rng.standard_normal((10, 64)) * 0.1).astype(np.float32),
                                  "classifier.1.weight"),
          numpy_helper.from_array(np.zeros(10, np.float32), "classifier.1.bias")]
nodes.append(helper.make_node("Gemm", ["flat", "classifier.1.weight", "classifier.1.bias"],
                              ["logits"], name="/classifier/classifier.1/Gemm", transB=1))
graph = helper.make_graph(nodes, "mobilenet_style",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 3, 32, 32])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 10])],
                          inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
