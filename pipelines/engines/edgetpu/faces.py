"""Faces mode in the Edge TPU worker: the same request and answer as the onnxruntime worker's faces
(pipelines/engines/onnxruntime/faces.ts), with an SSD face detector whose post-processing is in the
graph (Coral's ssd_mobilenet_v2_face_quant_postprocess[_edgetpu].tflite: boxes, classes, scores,
count). Pure numpy, except run_detector/classify, which take the worker's interpreter wrappers.

frame_rgb() is the ONE place that turns a request's body into pixels (today packed RGB24 at the
request's width x height); a new frame format changes only that function.
"""
import math

import numpy as np

FACE_DEFAULTS = {'margin': 0.2, 'maxFaces': 32, 'minFaceSize': 8}


class FacesRequestError(ValueError):
    pass


def js_round(x):
    """Math.round of JavaScript (halves go up), so crops match the onnxruntime worker's pixel for pixel."""
    return math.floor(x + 0.5)


def frame_rgb(header, body):
    """The request's frame as an H x W x 3 uint8 array (no copy). Raises FacesRequestError naming the problem."""
    w, h = header.get('width'), header.get('height')
    if not (isinstance(w, int) and isinstance(h, int) and 16 <= w <= 8192 and 16 <= h <= 8192):
        raise FacesRequestError('frame size %sx%s must be integers 16..8192' % (w, h))
    if len(body) != w * h * 3:
        raise FacesRequestError('frame has %d bytes, expected %d for %dx%d RGB24' % (len(body), w * h * 3, w, h))
    return np.frombuffer(body, dtype=np.uint8).reshape(h, w, 3)


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
        raise FacesRequestError('minFaceSize must be >= 1')


def letterbox(src_w, src_h, dst_w, dst_h):
    """(x, y, width, height, scale) of the image inside the model input: pipelines/pre/tensor.ts letterbox()."""
    scale = min(dst_w / src_w, dst_h / src_h)
    width = max(1, min(dst_w, js_round(src_w * scale)))
    height = max(1, min(dst_h, js_round(src_h * scale)))
    return (dst_w - width) // 2, (dst_h - height) // 2, width, height, scale


def resize_region(img, rect, out_w, out_h, fit='stretch', pad=(0, 0, 0)):
    """A region (left, top, width, height) of img, bilinear (half-pixel centres) to out_w x out_h,
    stretched or letterboxed (centred, padded with pad). Returns an out_h x out_w x 3 uint8 array."""
    left, top, w, h = rect
    region = img[top:top + h, left:left + w].astype(np.float32)
    if fit == 'letterbox':
        x, y, tw, th, _ = letterbox(w, h, out_w, out_h)
    else:
        x, y, tw, th = 0, 0, out_w, out_h
    ys = np.clip((np.arange(th) + 0.5) * h / th - 0.5, 0, h - 1)
    xs = np.clip((np.arange(tw) + 0.5) * w / tw - 0.5, 0, w - 1)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    top_row = region[y0][:, x0] * (1 - fx) + region[y0][:, x1] * fx
    bottom_row = region[y1][:, x0] * (1 - fx) + region[y1][:, x1] * fx
    out = np.empty((out_h, out_w, 3), np.uint8)
    out[:] = np.asarray(pad, np.uint8)
    out[y:y + th, x:x + tw] = np.clip(np.rint(top_row * (1 - fy) + bottom_row * fy), 0, 255).astype(np.uint8)
    return out


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


def ssd_faces(boxes, scores, count, det_w, det_h, frame_w, frame_h, fit, score_threshold, max_faces, min_size):
    """SSD post-processed outputs (boxes [N, 4] as ymin, xmin, ymax, xmax in 0..1 of the detector input;
    scores [N]; count) -> faces in frame pixels [(x1, y1, x2, y2, score)], best first, clipped, small ones
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
        if s < score_threshold:
            continue
        ymin, xmin, ymax, xmax = (float(v) for v in boxes[i])
        x1 = max(0.0, (xmin * det_w - ox) * sx)
        y1 = max(0.0, (ymin * det_h - oy) * sy)
        x2 = min(float(frame_w), (xmax * det_w - ox) * sx)
        y2 = min(float(frame_h), (ymax * det_h - oy) * sy)
        if x2 - x1 >= min_size and y2 - y1 >= min_size:
            out.append((x1, y1, x2, y2, s))
    out.sort(key=lambda f: -f[4])
    return out[:max_faces]


def classify_row(row, labels, kind):
    """models/classify.ts classify(): top label and label -> probability (4 decimals)."""
    row = np.asarray(row, np.float64)
    if len(row) != len(labels):
        raise ValueError('model returned %d values for %d labels' % (len(row), len(labels)))
    if kind == 'logits':
        e = np.exp(row - row.max())
        row = e / e.sum()
    best = int(np.argmax(row))
    r4 = lambda x: js_round(float(x) * 1e4) / 1e4  # noqa: E731
    return labels[best], r4(row[best]), {l: r4(p) for l, p in zip(labels, row)}


def r1(x):
    return js_round(x * 10) / 10
