"""Faces mode in the Edge TPU worker: the same request and answer as the onnxruntime worker's faces
(pipelines/engines/onnxruntime/faces.ts), with an SSD face detector whose post-processing is in the
graph (Coral's ssd_mobilenet_v2_face_quant_postprocess[_edgetpu].tflite: boxes, classes, scores,
count). Pure numpy. Frames (RGB24 or I420) become pixels in pixels.py, the one place that reads them.
"""
import math
import time

import numpy as np

from pixels import js_round, letterbox

FACE_DEFAULTS = {'margin': 0.2, 'maxFaces': 32, 'minFaceSize': 8}


class FacesRequestError(ValueError):
    pass


def check_options(o):
    unit = lambda v: v is None or (0 < v < 1)  # noqa: E731
    if not unit(o.get('scoreThreshold')) or not unit(o.get('iouThreshold')):
        raise FacesRequestError('scoreThreshold and iouThreshold must be in (0, 1)')
    if o.get('margin') is not None and not (0 <= o['margin'] <= 2):
        raise FacesRequestError('margin must be 0..2')
    mf = o.get('maxFaces')
    if mf is not None and not (isinstance(mf, int) and 1 <= mf <= 256):
        raise FacesRequestError('maxFaces must be an integer 1..256')
    if o.get('minFaceSize') is not None and not o['minFaceSize'] >= 1:
        raise FacesRequestError('minFaceSize must be ≥ 1')
    if o.get('detectOnly') not in (None, True, False):
        raise FacesRequestError('detectOnly must be a boolean')


def check_crops(crops, width, height):
    """A request's `crops` (classify these regions, no detector): a list of integer [left, top, width, height]
    inside the frame, or None when the request has none."""
    if crops is None:
        return None
    if not isinstance(crops, list) or len(crops) > 256:
        raise FacesRequestError('crops must be a list of at most 256 [left, top, width, height]')
    for i, c in enumerate(crops):
        ok = isinstance(c, list) and len(c) == 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in c)
        if not ok or not (c[0] >= 0 and c[1] >= 0 and c[2] >= 1 and c[3] >= 1 and c[0] + c[2] <= width and c[1] + c[3] <= height):
            raise FacesRequestError('crops[%d] must be integers [left, top, width, height] inside the %dx%d frame' % (i, width, height))
    return [tuple(c) for c in crops]


def face_crop(box, frame_w, frame_h, margin):
    """pipelines/pre/crop.ts faceCrop(): the box grown by margin on each side, squared, clipped; or None."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if not (w > 0 and h > 0) or not all(math.isfinite(v) for v in box):
        return None
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = max(0, js_round(cx - side / 2))
    top = max(0, js_round(cy - side / 2))
    right = min(frame_w, js_round(cx + side / 2))
    bottom = min(frame_h, js_round(cy + side / 2))
    if right - left < 1 or bottom - top < 1:
        return None
    return left, top, right - left, bottom - top


def ssd_faces(boxes, scores, count, det_w, det_h, frame_w, frame_h, fit, score_threshold, max_faces, min_size, classes=None):
    """SSD post-processed outputs (boxes [N, 4] as ymin, xmin, ymax, xmax in 0..1 of the detector input;
    scores [N]; count; classes [N], 0 = the first class after background) -> faces in frame pixels
    [(x1, y1, x2, y2, score, class index into the manifest's labels)], best first, clipped, small ones
    dropped. The graph has already done NMS."""
    n = int(min(int(np.asarray(count).reshape(-1)[0]) if count is not None else len(scores), len(scores)))
    if fit == 'letterbox':
        ox, oy, _, _, scale = letterbox(frame_w, frame_h, det_w, det_h)
        sx = sy = 1 / scale
    else:
        ox = oy = 0
        sx, sy = frame_w / det_w, frame_h / det_h
    out = []
    for i in range(n):
        s = float(scores[i])
        if not s > score_threshold:  # as models/detect.ts (also drops NaN)
            continue
        ymin, xmin, ymax, xmax = (float(v) for v in boxes[i])
        x1 = max(0.0, (xmin * det_w - ox) * sx)
        y1 = max(0.0, (ymin * det_h - oy) * sy)
        x2 = min(float(frame_w), (xmax * det_w - ox) * sx)
        y2 = min(float(frame_h), (ymax * det_h - oy) * sy)
        if x2 - x1 >= min_size and y2 - y1 >= min_size:
            out.append((x1, y1, x2, y2, s, 1 + (int(classes[i]) if classes is not None else 0)))
    out.sort(key=lambda f: -f[4])
    return out[:max_faces]


def classify_row(row, labels, kind, rule=None):
    """models/classify.ts classify() then models/decision.ts decide(): (label, score, label -> probability),
    probabilities to 4 decimals; with the manifest's decision rule, its label wins whenever its
    (rounded) probability reaches the threshold, else the best of the others."""
    row = np.asarray(row, np.float64)
    if len(row) != len(labels):
        raise ValueError('model returned %d values for %d labels' % (len(row), len(labels)))
    if kind == 'logits':
        e = np.exp(row - row.max())
        row = e / e.sum()
    best = int(np.argmax(row))
    r4 = lambda x: js_round(float(x) * 1e4) / 1e4  # noqa: E731
    scores = {l: r4(p) for l, p in zip(labels, row)}
    label, score = labels[best], r4(row[best])
    if rule and rule.get('label') in scores:
        p = scores[rule['label']]
        if p >= rule['threshold']:
            return rule['label'], p, scores
        label, score = '', -1
        for l, v in scores.items():
            if l != rule['label'] and v > score:
                label, score = l, v
    return label, score, scores


def r1(x):
    return js_round(x * 10) / 10


def _fit_of(m):
    return 'stretch' if m['input'].get('resize') == 'stretch' else 'letterbox'


def detect(frame, o, det, run):
    """The detector on one frame: faces in frame pixels (ssd_faces), best first."""
    dm = det['manifest']
    spec = dm['detect']
    dw, dh = dm['input']['width'], dm['input']['height']
    small = frame.detector_input(dw, dh, _fit_of(dm), dm['input'].get('padColor') or (0, 0, 0))
    names = [dm['output']['name'], spec['boxes']] + ([spec['count']] if spec.get('count') else [])
    outs = {n: data for n, _, data in run(det, small.tobytes(), names)}
    return ssd_faces(outs[spec['boxes']].reshape(-1, 4), outs[dm['output']['name']].reshape(-1), outs.get(spec.get('count')), dw, dh,
                     frame.width, frame.height, _fit_of(dm), o.get('scoreThreshold') or spec.get('scoreThreshold', 0.5),
                     o.get('maxFaces') or FACE_DEFAULTS['maxFaces'], o.get('minFaceSize') or FACE_DEFAULTS['minFaceSize'])


def run_faces(frames, o, det, cls, run):
    """pipelines/engines/onnxruntime/faces.ts runFacesBatch for this worker. frames: [(Frame, crops or None)];
    a frame with crops skips the detector (its faces are those regions: box = crop, detScore 0);
    o['detectOnly'] skips the classifier (label '', score 0, scores {}). det / cls: the worker's loaded
    models (None where not needed); run(model, rgb bytes, output names) -> [(name, dims, float array)].
    One classifier invoke per crop (the Edge TPU runs batch 1). Crop and classify times are the batch's."""
    t0 = time.perf_counter()
    margin = o['margin'] if o.get('margin') is not None else FACE_DEFAULTS['margin']
    per = []
    for frame, given in frames:
        td = time.perf_counter()
        if given is not None:
            found = [((l, t, l + w, t + h, 0.0, 1), (l, t, w, h)) for l, t, w, h in given]
        else:
            found = [(f, face_crop(f[:4], frame.width, frame.height, margin)) for f in detect(frame, o, det, run)]
            found = [(f, r) for f, r in found if r is not None]
        per.append((found, given is None, (time.perf_counter() - td) * 1000))
    t1 = time.perf_counter()
    crops = []
    if not o.get('detectOnly'):
        cm = cls['manifest']
        cw, ch, pad = cm['input']['width'], cm['input']['height'], cm['input'].get('padColor') or (0, 0, 0)
        crops = [frame.region(r, cw, ch, _fit_of(cm), pad) for (frame, _), (found, _, _) in zip(frames, per) for _, r in found]
    crop_ms = (time.perf_counter() - t1) * 1000
    t2 = time.perf_counter()
    rows = [run(cls, px.tobytes(), [cls['manifest']['output']['name']])[0][2].reshape(-1) for px in crops]
    classify_ms = (time.perf_counter() - t2) * 1000
    infer_ms = (time.perf_counter() - t0) * 1000
    det_labels = det['manifest']['labels'] if det else []
    results, k = [], 0
    for found, detected, detect_ms in per:
        out = []
        for f, r in found:
            face = {'box': [r1(f[0]), r1(f[1]), r1(f[2] - f[0]), r1(f[3] - f[1])], 'crop': list(r), 'detScore': js_round(f[4] * 1e4) / 1e4}
            if detected and len(det_labels) > 2:
                face['detLabel'] = det_labels[f[5]]
            if o.get('detectOnly'):
                face.update(label='', score=0, scores={})
            else:
                cm = cls['manifest']
                label, score, scores = classify_row(rows[k], cm['labels'], cm['output'].get('kind', 'probabilities'), cm.get('decision'))
                k += 1
                face.update(label=label, score=score, scores=scores)
            out.append(face)
        results.append({'faces': out, 'detectMs': detect_ms, 'cropMs': crop_ms, 'classifyMs': classify_ms, 'classifierRuns': len(rows), 'inferMs': infer_ms})
    return results
