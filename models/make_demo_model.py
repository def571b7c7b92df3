#!/usr/bin/env python3
"""Writes models/demo_cnn.onnx, the model the demo runs, with an input and its expected output.

A small image classifier (32x32 RGB -> 10 classes) with fixed, seeded weights: Conv + BatchNorm +
Relu, MaxPool, a depthwise Conv, a residual Add, GlobalAveragePool, Gemm and Softmax, so the demo
exercises the op families real CNNs use. The batch dimension is symbolic ("N").

Run with Debian's python3-onnx and python3-numpy (apt-get install python3-onnx python3-numpy):
    /usr/bin/python3 models/make_demo_model.py
demo_cnn.expected.npy is the graph computed independently in float64 numpy; a test compares
edgerun's output with it. The files are committed, so building and running edgerun never needs Python.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    rng = np.random.default_rng(20261125)

    def weight(name, shape, scale):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    c1, c2, classes = 16, 16, 10
    inits = [
        weight("conv1.w", (c1, 3, 3, 3), 0.3),
        weight("conv1.b", (c1,), 0.1),
        numpy_helper.from_array((1.0 + 0.1 * rng.standard_normal(c1)).astype(np.float32), "bn1.scale"),
        weight("bn1.bias", (c1,), 0.1),
        weight("bn1.mean", (c1,), 0.1),
        numpy_helper.from_array((1.0 + 0.2 * rng.random(c1)).astype(np.float32), "bn1.var"),
        weight("dw.w", (c2, 1, 3, 3), 0.3),
        weight("dw.b", (c2,), 0.1),
        weight("fc.w", (classes, c2), 0.3),
        weight("fc.b", (classes,), 0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["conv1"], name="conv1",
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["conv1", "bn1.scale", "bn1.bias", "bn1.mean",
                                                "bn1.var"], ["bn1"], name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["bn1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "dw.w", "dw.b"], ["dw"], name="depthwise",
                         group=c2, pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["dw"], ["relu2"], name="relu2"),
        helper.make_node("Add", ["relu2", "pool1"], ["residual"], name="residual"),
        helper.make_node("GlobalAveragePool", ["residual"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["features"], name="flatten", axis=1),
        helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "demo_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes])],
        inits)
    model = helper.make_model(graph, producer_name="edgerun models/make_demo_model.py",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"task": "image classification (demo, untrained)",
                                   "classes": str(classes)})
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(HERE, "demo_cnn.onnx"))

    image = rng.random((1, 3, 32, 32), dtype=np.float32)
    np.save(os.path.join(HERE, "demo_cnn.input.npy"), image)
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in inits}
    expected = numpy_forward(image.astype(np.float64), weights).astype(np.float32)
    np.save(os.path.join(HERE, "demo_cnn.expected.npy"), expected)


def conv3x3(x, w, b, groups=1):
    """Stride 1, pad 1 convolution written out with numpy, independent of edgerun's kernels."""
    n, c, h, wd = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], h, wd))
    per_group_out = w.shape[0] // groups
    for o in range(w.shape[0]):
        g = o // per_group_out
        cin = range(g * w.shape[1], (g + 1) * w.shape[1])
        for k, ci in enumerate(cin):
            for dy in range(3):
                for dx in range(3):
                    out[:, o] += w[o, k, dy, dx] * padded[:, ci, dy:dy + h, dx:dx + wd]
        out[:, o] += b[o]
    return out


def numpy_forward(x, p):
    """The demo graph in float64 numpy: the expected output the tests compare edgerun with."""
    y = conv3x3(x, p["conv1.w"], p["conv1.b"])
    per_channel = (slice(None), None, None)
    y = (y - p["bn1.mean"][per_channel]) / np.sqrt(p["bn1.var"][per_channel] + 1e-5)
    y = np.maximum(y * p["bn1.scale"][per_channel] + p["bn1.bias"][per_channel], 0.0)
    n, c, h, w = y.shape
    pooled = y.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    z = np.maximum(conv3x3(pooled, p["dw.w"], p["dw.b"], groups=c), 0.0) + pooled
    logits = z.mean(axis=(2, 3)) @ p["fc.w"].T + p["fc.b"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


if __name__ == "__main__":
    main()
