#!/usr/bin/env python3
"""Convert the mask classifier (model.onnx + model.json) to an int8 TFLite model, compile it for the
Edge TPU, check its accuracy against the ONNX model, and write a bundle the Coral runs:
model.json with "files" for the onnxruntime, tflite and edgetpu engines.

RUN ON A WORKSTATION (x86-64 Linux), NOT on the device and NOT on the build VM: it needs
  pip install onnx2tf tensorflow onnxruntime numpy pillow   (onnx2tf >= 1.20, TensorFlow 2.15+)
  edgetpu_compiler                                           (Coral's apt repository, x86-64 only)
None of these exist on the machine this was written on, so THIS SCRIPT HAS NOT BEEN RUN (see
docs/ACCELERATORS.md). Nothing is downloaded by it.

  to_edgetpu.py --model models/mask-mobilenet --data DATASET --out OUT [--calib 300] [--max-drop 0.02]

Check the written model.json against the files before use: onnx2tf may rename the graph's input or
output tensors (print them with pipelines/engines/edgetpu/tflite_model.py FILE and fix input.name /
output.name), and the worker refuses a manifest that does not match its file (MODEL_MISMATCH).

DATASET: <class>/<image> folders named like the manifest's labels (the face-mask set's layout), used
for calibration (int8 ranges) and the accuracy check (a held-out part).
The accuracy check fails (exit 1) when the int8 model's accuracy on the held-out images is more than
--max-drop below the ONNX model's, or when the two disagree on more than 2 * --max-drop of them.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image


def load_images(data, labels, size, pad):
    items = []
    for li, label in enumerate(labels):
        d = os.path.join(data, label)
        for f in sorted(os.listdir(d)):
            if f.lower().endswith(('.jpg', '.jpeg', '.png')):
                items.append((os.path.join(d, f), li))
    random.Random(1).shuffle(items)
    return items


def letterbox(path, size, pad):
    """The runtime's letterbox (pipelines/pre/tensor.ts): scale to fit, centre, pad; RGB uint8 HxWx3."""
    im = Image.open(path).convert('RGB')
    w, h = im.size
    s = min(size / w, size / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    canvas = Image.new('RGB', (size, size), tuple(pad))
    canvas.paste(im.resize((nw, nh), Image.BILINEAR), ((size - nw) // 2, (size - nh) // 2))
    return np.asarray(canvas, np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--calib', type=int, default=300)
    ap.add_argument('--max-drop', type=float, default=0.02)
    a = ap.parse_args()
    m = json.load(open(os.path.join(a.model, 'model.json')))
    size, pad, labels = m['input']['width'], m['input'].get('padColor', [0, 0, 0]), m['labels']
    pre = m['preprocess']
    norm = lambda px: ((px.astype(np.float32) * pre['scale'] - np.array(pre['mean'], np.float32)) / np.array(pre['std'], np.float32))  # noqa: E731
    items = load_images(a.data, labels, size, pad)
    calib, held = items[:a.calib], items[a.calib:]
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, 'work')
    os.makedirs(work, exist_ok=True)

    # 1. ONNX (NCHW) -> TensorFlow (NHWC) -> int8 TFLite with uint8 input/output, calibrated on real faces.
    calib_nhwc = np.stack([norm(letterbox(p, size, pad)) for p, _ in calib])
    np.save(os.path.join(work, 'calib.npy'), calib_nhwc)
    subprocess.run(['onnx2tf', '-i', os.path.join(a.model, m['file']), '-o', work, '-oiqt', '-qt', 'per-tensor',
                    '-cind', m['input']['name'], os.path.join(work, 'calib.npy'), str(pre['mean']), str(pre['std']),
                    '-ioqd', 'uint8'], check=True)
    full = [f for f in os.listdir(work) if f.endswith('_full_integer_quant.tflite')]
    if not full:
        sys.exit('onnx2tf wrote no *_full_integer_quant.tflite')
    tfl = os.path.join(a.out, 'mask_mobilenet_int8.tflite')
    shutil.copy(os.path.join(work, full[0]), tfl)

    # 2. Edge TPU compile (every op must map, or the rest runs on the CPU: the log says how many).
    subprocess.run(['edgetpu_compiler', '-s', '-o', a.out, tfl], check=True)
    tpu = os.path.join(a.out, 'mask_mobilenet_int8_edgetpu.tflite')

    # 3. Accuracy: ONNX (float, onnxruntime) vs the int8 TFLite (TensorFlow's interpreter, CPU) on held-out faces.
    import onnxruntime as ort
    import tensorflow as tf
    sess = ort.InferenceSession(os.path.join(a.model, m['file']))
    it = tf.lite.Interpreter(model_path=tfl)
    it.allocate_tensors()
    di, do = it.get_input_details()[0], it.get_output_details()[0]
    s_in, z_in = di['quantization']
    ok_onnx = ok_int8 = agree = 0
    for p, li in held:
        px = letterbox(p, size, pad)
        x = norm(px)
        y_onnx = sess.run(None, {m['input']['name']: x.transpose(2, 0, 1)[None]})[0][0]
        q = np.clip(np.rint(x / s_in + z_in), 0, 255).astype(np.uint8)[None]
        it.set_tensor(di['index'], q)
        it.invoke()
        y_int8 = it.get_tensor(do['index'])[0]
        a_onnx, a_int8 = int(np.argmax(y_onnx)), int(np.argmax(y_int8))
        ok_onnx += a_onnx == li
        ok_int8 += a_int8 == li
        agree += a_onnx == a_int8
    n = max(1, len(held))
    report = {'heldOut': len(held), 'accuracyOnnx': ok_onnx / n, 'accuracyInt8': ok_int8 / n, 'agreement': agree / n}
    print(json.dumps(report))

    # 4. The bundle: the ONNX file stays the primary one; tflite and edgetpu beside it.
    sha = lambda f: hashlib.sha256(open(f, 'rb').read()).hexdigest()  # noqa: E731
    shutil.copy(os.path.join(a.model, m['file']), os.path.join(a.out, m['file']))
    m['files'] = [{'engine': 'tflite', 'file': os.path.basename(tfl), 'sha256': sha(tfl)},
                  {'engine': 'edgetpu', 'file': os.path.basename(tpu), 'sha256': sha(tpu)}]
    m.setdefault('training', {})['edgetpu'] = {'command': ' '.join(sys.argv), **report}
    # The TFLite files take NHWC; the worker reads layout from the manifest: one manifest per layout is
    # not possible, so the Edge TPU bundle's input.layout is NHWC and its primary file the edgetpu one.
    tpu_m = dict(m, engine='edgetpu', file=os.path.basename(tpu), sha256=sha(tpu), input=dict(m['input'], layout='NHWC'),
                 files=[m['files'][0]])
    json.dump(tpu_m, open(os.path.join(a.out, 'model.json'), 'w'), indent=2)
    if report['accuracyInt8'] < report['accuracyOnnx'] - a.max_drop or report['agreement'] < 1 - 2 * a.max_drop:
        sys.exit('int8 accuracy check FAILED: %s' % json.dumps(report))
    print('bundle written to %s (edgetpu primary, tflite for the CPU)' % a.out)


if __name__ == '__main__':
    main()
