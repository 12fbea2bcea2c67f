#!/usr/bin/python3
"""An ImageNet-pretrained MobileNet V1 as a base for train_crops.py (issue 15, D146): the weights of
Coral's `mobilenet_v1_0.25_128_quant.tflite` (google-coral/test_data, Apache-2.0; in ../shared/models)
dequantised into train.py's MobileNetV1 (α 0.25) with a new two-class head, written as the folded ONNX
file train_crops.py loads (`--base`, with `--alpha 0.25`).

The TFLite file holds the network after BatchNorm folding and quantisation-aware training: per conv,
uint8 weights with one scale and zero point, int32 biases at input scale × weight scale. Dequantised,
(q − zero_point) · scale, they are the float network the quantised one was trained as. TFLite pads a
stride-2 convolution "SAME" (the extra row and column at the bottom and right); train.py's network pads
both sides, a one-pixel shift that fine-tuning absorbs (--check prints the ImageNet top-5 both ways).

    /usr/bin/python3 models/train/tflite_base.py --tflite /work/shared/models/mobilenet_v1_0.25_128_quant.tflite \
        --out /tmp/mnv1-025-imagenet.onnx [--size 160] [--check image.jpg --labels imagenet_labels.txt]

A small flatbuffer reader of its own (the fields below of tensorflow/lite/schema/schema.fbs); the
runtime's reader (pipelines/engines/edgetpu/tflite_model.py) reads only a model's I/O and lives on the
other side of the house's import rule.
  Model: operator_codes[1] subgraphs[2] buffers[4]; OperatorCode: deprecated_builtin_code[0] builtin_code[3]
  SubGraph: tensors[0] operators[3]; Operator: opcode_index[0] inputs[1]; Tensor: shape[0] type[1]
  buffer[2] name[3] quantization[4]; QuantizationParameters: scale[2] zero_point[3]; Buffer: data[0]
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from net import ExportWrapper, MobileNetV1  # noqa: E402

CONV_2D, DEPTHWISE_CONV_2D = 3, 4
DTYPES = {2: np.int32, 3: np.uint8, 9: np.int8, 0: np.float32}


class Table:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt_len = struct.unpack_from("<H", buf, self.vt)[0]

    def _off(self, i):
        o = 4 + 2 * i
        return struct.unpack_from("<H", self.buf, self.vt + o)[0] if o < self.vt_len else 0

    def scalar(self, i, fmt, default=0):
        off = self._off(i)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _ref(self, i):
        off = self._off(i)
        return None if not off else self.pos + off + struct.unpack_from("<I", self.buf, self.pos + off)[0]

    def vector(self, i, fmt):
        p = self._ref(i)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.buf, p)[0]
        return list(struct.unpack_from("<%d%s" % (n, fmt), self.buf, p + 4))

    def raw(self, i):
        p = self._ref(i)
        return b"" if p is None else bytes(self.buf[p + 4:p + 4 + struct.unpack_from("<I", self.buf, p)[0]])

    def table(self, i):
        p = self._ref(i)
        return None if p is None else Table(self.buf, p)

    def tables(self, i):
        p = self._ref(i)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.buf, p)[0]
        return [Table(self.buf, p + 4 + 4 * k + struct.unpack_from("<I", self.buf, p + 4 + 4 * k)[0]) for k in range(n)]


def conv_layers(path):
    """[(kind, name, float weight in TFLite layout, float bias)] of every CONV_2D / DEPTHWISE_CONV_2D, in order."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[4:8] != b"TFL3":
        sys.exit(f"{path}: not a TFLite model (no TFL3 identifier)")
    model = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes = [max(c.scalar(0, "b"), c.scalar(3, "i")) for c in model.tables(1)]
    buffers = model.tables(4)
    g = model.tables(2)[0]
    tensors = g.tables(0)

    def tensor(i):
        t = tensors[i]
        q = t.table(4)
        scale, zero = (q.vector(2, "f"), q.vector(3, "q")) if q else ([], [])
        if len(scale) != 1:
            sys.exit(f"{path}: tensor {t.raw(3)!r} has {len(scale)} scales; only per-tensor quantisation is read")
        data = np.frombuffer(buffers[t.scalar(2, "I")].raw(0), DTYPES[t.scalar(1, "b")]).reshape(t.vector(0, "i"))
        return (data.astype(np.float64) - (zero[0] if zero else 0)) * scale[0], t.raw(3).decode()

    out = []
    for op in g.tables(3):
        code = codes[op.scalar(0, "I")]
        if code in (CONV_2D, DEPTHWISE_CONV_2D):
            ins = op.vector(1, "i")
            (w, name), (b, _) = tensor(ins[1]), tensor(ins[2])
            out.append(("conv" if code == CONV_2D else "dw", name, w.astype(np.float32), b.astype(np.float32)))
    return out


def load_tflite(model, layers):
    """The feature layers' weights into model (conv + identity BatchNorm carrying the bias); returns the
    remaining layers (the TFLite logits conv)."""
    mods = list(model.features.modules())
    pairs = [(mods[i], mods[i + 1]) for i in range(len(mods) - 1)
             if isinstance(mods[i], nn.Conv2d) and isinstance(mods[i + 1], nn.BatchNorm2d)]
    if len(layers) < len(pairs):
        sys.exit(f"the TFLite model has {len(layers)} convolutions, the network needs {len(pairs)}")
    with torch.no_grad():
        for (conv, bn), (kind, name, w, b) in zip(pairs, layers):
            # CONV_2D weights are [out, kh, kw, in]; DEPTHWISE_CONV_2D [1, kh, kw, out]
            w = w.transpose(0, 3, 1, 2) if kind == "conv" else w.transpose(3, 0, 1, 2)
            if tuple(conv.weight.shape) != w.shape:
                sys.exit(f"{name}: shape {w.shape}, the network's {tuple(conv.weight.shape)} (wrong --alpha?)")
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
    return layers[len(pairs):]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tflite", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--alpha", type=float, default=0.25)
    ap.add_argument("--size", type=int, default=160, help="the exported graph's input size (the network is fully convolutional)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", default=None, metavar="IMAGE", help="print the ImageNet top-5 of IMAGE at 128 (needs --labels)")
    ap.add_argument("--labels", default=None)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    layers = conv_layers(a.tflite)
    if a.check:
        import cv2
        full = MobileNetV1(a.alpha, 1001, 0.0)
        rest = load_tflite(full, layers)
        w, b = rest[0][2], rest[0][3]
        with torch.no_grad():
            full.classifier.weight.copy_(torch.from_numpy(w.reshape(w.shape[0], -1)))
            full.classifier.bias.copy_(torch.from_numpy(b))
        full.eval()
        names = open(a.labels).read().splitlines() if a.labels else [str(i) for i in range(1001)]
        im = cv2.resize(cv2.cvtColor(cv2.imread(a.check), cv2.COLOR_BGR2RGB), (128, 128), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy((im.astype(np.float32) - 128) / 128).permute(2, 0, 1)[None]
        top = torch.softmax(full(x), 1)[0].topk(5)
        print("ImageNet top-5 (symmetric padding):", [(names[i], round(float(v), 3)) for v, i in zip(top.values, top.indices)])
    model = MobileNetV1(a.alpha, 2, 0.2)
    load_tflite(model, layers)
    model.eval()
    torch.onnx.export(ExportWrapper(model), torch.zeros(1, 3, a.size, a.size), a.out, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits", "features"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}})
    print(f"{a.out}: MobileNetV1 α {a.alpha} with {os.path.basename(a.tflite)}'s {len(layers) - 1} feature convolutions and a new 2-class head")


if __name__ == "__main__":
    main()
