"""Load an ONNX model into OpenCV's dnn module (Debian's OpenCV 4.6).

OpenCV 4.6's importer only takes Clip with min/max attributes (opset < 11): the constant-input Clips
of an in-memory copy are rewritten that way (same weights, same graph otherwise). Used by the
training recipe's export check and by the Python loop the benchmarks compare against.
"""
import os
import tempfile

import cv2
import onnx
from onnx import helper, numpy_helper


def load_cv2_net(onnx_path):
    m = onnx.load(onnx_path)
    consts = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    nodes = []
    for n in m.graph.node:
        if n.op_type == "Clip" and len(n.input) > 1:
            lo = float(consts[n.input[1]]) if n.input[1] else -3.4e38
            hi = float(consts[n.input[2]]) if len(n.input) > 2 and n.input[2] else 3.4e38
            n = helper.make_node("Clip", [n.input[0]], list(n.output), name=n.name, min=lo, max=hi)
        nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.opset_import[0].version = 10
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "clip10.onnx")
        onnx.save(m, p)
        return cv2.dnn.readNetFromONNX(p)


def p_no_mask(logits):
    """p(no_mask) from the classifier's logits (rows of [mask, no_mask]), a stable softmax."""
    import numpy as np
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True))[:, 1]
