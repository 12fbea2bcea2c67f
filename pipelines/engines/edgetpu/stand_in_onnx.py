"""TESTS ONLY: a stand-in TFLite interpreter that computes the network, by running the same model's ONNX
file through OpenCV's dnn module (python3-opencv). Selected with
MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER=onnx (runtime.py); production never sets it.

Why: no TFLite runtime, no Edge TPU and no TFLite face detector exist on the build machine, so the
Edge TPU worker's faces path (frame decoding, detector input, SSD rows to frame pixels, crops, the
classifier's input quantisation, the label and decision rule) could only ever run on numbers that mean
nothing. With this stand-in it runs on real detections and real labels of the repo's scene photos and
can be compared with the onnxruntime worker. What differs from a Coral: only the interpreter (this one
instead of tflite_runtime + libedgetpu) and, for the detector, the post-processing op, emulated here.

For a model file F it needs F + '.stand-in.json' beside it (tests write it):
  {"onnx": "<path, relative to F's folder or absolute>", "layout": "NCHW" | "NHWC",
   "outputs": {"<TFLite output name>": "<ONNX output name>", ...}}                    a classifier, or
  {"onnx": ..., "layout": ..., "ssdPostprocess": {"scores": "<ONNX scores [1,N,C]>", "boxes": "<ONNX boxes
   [1,N,4] x1,y1,x2,y2 in 0..1>", "scoreThreshold": t, "iouThreshold": u}}           an SSD face detector
F itself is a TFLite file and gives the tensors' names, shapes, types and quantisation the worker sees
(test/fixtures/coral/make_tflite.py writes such files without a network). The input is dequantised
with F's input quantisation, transposed to the ONNX layout and run; outputs are quantised with F's
output quantisation. "ssdPostprocess" does what TFLite_Detection_PostProcess does after the network
(the four outputs boxes ymin,xmin,ymax,xmax / classes / scores / count): per anchor the best face class,
the score threshold, boxes clipped to 0..1, class-agnostic hard NMS, at most the output's row count.
"""
import json
import os
import sys

import numpy as np

from tflite_model import read_model

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, '..', '..', '..', 'models', 'train'))

from cv2_onnx import load_cv2_net  # noqa: E402  (OpenCV 4.6 needs its Clip rewrite)

_NP = {'uint8': np.uint8, 'int8': np.int8, 'float32': np.float32, 'int32': np.int32, 'int16': np.int16}


class OnnxStandInRuntime:
    """TESTS ONLY. See the module docstring."""
    stand_in = True
    version = 'stand-in interpreter (tests only; runs each model\'s ONNX twin through OpenCV dnn, no TFLite runtime)'

    def open(self, model_path, edgetpu):
        with open(model_path, 'rb') as f:
            model = read_model(f.read())
        side = model_path + '.stand-in.json'
        try:
            with open(side, 'r', encoding='utf-8') as f:
                spec = json.load(f)
        except OSError as e:
            raise LookupError('stand-in: no %s beside the model: %s' % (os.path.basename(side), e))
        onnx_path = spec['onnx'] if os.path.isabs(spec['onnx']) else os.path.join(os.path.dirname(model_path), spec['onnx'])
        return OnnxStandInInterpreter(model, load_cv2_net(onnx_path), spec)


def _details(t, index):
    if t['type'] not in _NP:
        raise ValueError('stand-in: tensor type %s is not supported' % t['type'])
    return {'name': t['name'], 'index': index, 'shape': np.array(t['shape'], np.int32), 'dtype': _NP[t['type']],
            'quantization': (float(t['scale'] or 0.0), int(t['zeroPoint'] or 0))}


def _dequantise(x, d):
    s, z = d['quantization']
    if x.dtype == np.float32 or not s:
        return x.astype(np.float32)
    return ((x.astype(np.float32) - z) * s).astype(np.float32)


def _quantise(x, d):
    s, z = d['quantization']
    if d['dtype'] == np.float32 or not s:
        return x.astype(d['dtype'])
    info = np.iinfo(d['dtype'])
    return np.clip(np.rint(x / s + z), info.min, info.max).astype(d['dtype'])


def ssd_postprocess(scores, boxes, score_threshold, iou_threshold, rows):
    """UltraFace-style outputs (scores [N, C] with class 0 background; boxes [N, 4] x1, y1, x2, y2 in 0..1)
    -> TFLite_Detection_PostProcess outputs: boxes [rows, 4] ymin, xmin, ymax, xmax; classes [rows]
    (0 = first class after background); scores [rows]; count."""
    face = scores[:, 1:]
    cls = np.argmax(face, axis=1)
    best = face[np.arange(len(face)), cls]
    b = np.clip(boxes, 0, 1)
    keep = (best > score_threshold) & np.all(np.isfinite(boxes), axis=1) & (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    idx = np.nonzero(keep)[0]
    idx = idx[np.argsort(-best[idx], kind='stable')][:500]
    kept = []
    for i in idx:
        if len(kept) >= rows:
            break
        if all(_iou(b[i], b[k]) <= iou_threshold for k in kept):
            kept.append(i)
    out_boxes = np.zeros((rows, 4), np.float32)
    out_cls = np.zeros(rows, np.float32)
    out_scores = np.zeros(rows, np.float32)
    for r, i in enumerate(kept):
        out_boxes[r] = [b[i, 1], b[i, 0], b[i, 3], b[i, 2]]
        out_cls[r] = cls[i]
        out_scores[r] = best[i]
    return out_boxes, out_cls, out_scores, np.float32(len(kept))


def _iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class OnnxStandInInterpreter:
    """TESTS ONLY. The interpreter API subset the worker uses; invoke() runs the ONNX twin."""

    def __init__(self, model, net, spec):
        self._in = [_details(t, i) for i, t in enumerate(model['inputs'])]
        n = len(model['inputs'])
        self._out = [_details(t, n + i) for i, t in enumerate(model['outputs'])]
        self._tensors = {d['index']: np.zeros(d['shape'], d['dtype']) for d in self._in + self._out}
        self._net, self._spec = net, spec

    def get_input_details(self):
        return self._in

    def get_output_details(self):
        return self._out

    def set_tensor(self, index, value):
        want = self._tensors[index]
        if value.shape != want.shape or value.dtype != want.dtype:
            raise ValueError('stand-in: tensor %d wants %s %s, got %s %s' % (index, want.dtype, want.shape, value.dtype, value.shape))
        self._tensors[index] = value.copy()

    def get_tensor(self, index):
        return self._tensors[index].copy()

    def invoke(self):
        d = self._in[0]
        x = _dequantise(self._tensors[d['index']], d)
        if self._spec.get('layout', 'NCHW') == 'NCHW':
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        self._net.setInput(x)
        ssd = self._spec.get('ssdPostprocess')
        if ssd:
            scores, boxes = self._net.forward([ssd['scores'], ssd['boxes']])
            c = scores.shape[-1]
            rows = int(self._out[0]['shape'][1])
            values = ssd_postprocess(scores.reshape(-1, c), boxes.reshape(-1, 4), ssd['scoreThreshold'], ssd['iouThreshold'], rows)
        else:
            names = [self._spec['outputs'][o['name']] for o in self._out]
            values = self._net.forward(names)
        for o, v in zip(self._out, values):
            self._tensors[o['index']] = _quantise(np.asarray(v, np.float32).reshape(o['shape']), o)
