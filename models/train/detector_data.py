"""Training frames with face boxes for the detector fine-tune (train_detector.py).

Labels come from the shipped detector itself, where it is sure: each face-mask image is shown to it
as a close-up (longest side 300 px in a mid-grey 640x480 input); an image is used only when exactly
one box scores >= 0.6 and no other box >= 0.2 (one clear face), and that box, in the image's own
coordinates, is its label, with the class from the data set's folder (mask -> masked_face,
no_mask -> face). Crowd photos and images the detector cannot read as a close-up drop out.

A frame is a camera region (640x360, 16:9, or 480x360, 4:3) stretched to a 320x240 tile of the
detector's input, the daemon's stretch at half scale: the same pixels per face as a 1280x720 (or
960x720) camera at 640x480. Into a drawn background (smooth colour noise, gradients, blocks) go 1-5
labelled images, faces 16-300 camera px tall (log-uniform), not overlapping; about a third are
pushed over a frame edge so 25-70 % of the face is cut off (the faces of linzaer-masked-img7 that
the shipped model misses are cut by the bottom edge). Light (gamma, gain, colour cast), a hand at
the side of some faces, camera blur or a low-resolution round trip, and JPEG 25-90 apply to the
whole region. A face less than 40 % visible, or under 6 px tall in the tile, is marked "ignore"
(neither a face nor background for the loss).
"""
import math
import os

import cv2
import numpy as np
import torch

cv2.setNumThreads(1)

from crops import light as _light, load_rgb  # the classifier crops' own decoding and light
from detector_net import OnnxNet

LABELS = ["mask", "no_mask"]
DET_CLASS = {"mask": 2, "no_mask": 1}
TILE_W, TILE_H = 320, 240


def list_split(root, split):
    out = []
    for lab in LABELS:
        d = os.path.join(root, split, lab)
        out += [(os.path.join(d, n), lab) for n in sorted(os.listdir(d)) if n.lower().endswith((".jpg", ".jpeg", ".png"))]
    return out


def _nms(boxes, scores, thr=0.3):
    order, keep = np.argsort(-scores), []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0]); yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2]); yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        order = rest[inter / (area(boxes[i]) + area(boxes[rest]) - inter + 1e-9) <= thr]
    return keep


def detect(net, rgb640x480):
    """The graph's own scores and boxes (normalised) for one 640x480 RGB input; NMS'd, score > 0.2."""
    x = ((rgb640x480.astype(np.float32) - 127) / 128).transpose(2, 0, 1)[None].copy()
    with torch.no_grad():
        s, b = net.decode(torch.from_numpy(x))
    s, b = s[0].numpy(), b[0].numpy()
    face = s[:, 1:].max(1)
    m = face > 0.2
    s, b, face = s[m], b[m], face[m]
    k = _nms(b, face)
    return b[k], face[k], s[k]


def pseudo_labels(net, items, log=None):
    """[(path, label, box in image pixels (x1, y1, x2, y2), det class)] for the one-clear-face images."""
    out = []
    for idx, (path, lab) in enumerate(items):
        img = load_rgb(path)
        h, w = img.shape[:2]
        s = 300 / max(w, h)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        canvas = np.full((480, 640, 3), 127, np.uint8)
        x0, y0 = (640 - nw) // 2, (480 - nh) // 2
        canvas[y0:y0 + nh, x0:x0 + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        boxes, scores, _ = detect(net, canvas)
        if (scores >= 0.6).sum() == 1 and (scores >= 0.2).sum() == 1:
            b = boxes[0] * [640, 480, 640, 480] - [x0, y0, x0, y0]
            b = np.clip(b / s, 0, [w, h, w, h])
            if b[2] - b[0] > 4 and b[3] - b[1] > 4:
                out.append((path, lab, tuple(float(v) for v in b), DET_CLASS[lab]))
        if log and (idx + 1) % 500 == 0:
            log(f"pseudo-labels: {idx + 1}/{len(items)} images, {len(out)} kept")
    return out


def _background(rng, w, h):
    small = rng.uniform(0, 255, (max(2, h // 40), max(2, w // 40), 3)).astype(np.float32)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    gx = np.linspace(0, 1, w, dtype=np.float32)[None, :, None] * rng.uniform(-80, 80, 3).astype(np.float32)
    gy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None] * rng.uniform(-80, 80, 3).astype(np.float32)
    bg = np.clip(bg * rng.uniform(0.3, 1.0) + gx + gy + rng.uniform(-40, 40, 3), 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 10))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(4, w // 3)), int(rng.integers(4, h // 3))
        cv2.rectangle(bg, (x, y), (x + bw, y + bh), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    for _ in range(int(rng.integers(0, 4))):
        cv2.line(bg, tuple(int(v) for v in rng.integers(0, w, 2)), tuple(int(v) for v in rng.integers(0, h, 2)),
                 tuple(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(1, 8)))
    return cv2.GaussianBlur(bg, (0, 0), rng.uniform(0.5, 2.5))


def _wallpaper(rng, photos, cache):
    path = photos[int(rng.integers(len(photos)))]
    if path not in cache:
        img = load_rgb(path)
        s = 1280 / max(img.shape[:2])
        cache[path] = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    img = cache[path]
    h, w = img.shape[:2]
    cw = int(rng.uniform(0.3, 1.0) * min(w, h * 16 / 9))
    ch = round(cw * 9 / 16)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return cv2.resize(img[y:y + ch, x:x + cw], (640, 360), interpolation=cv2.INTER_AREA)


def backdrop(rng, cache, photos, rw, rh):
    """A rw x rh background without faces: a drawn one (256 drawn, then reused: one costs 30 ms) or,
    half the time when `photos` is given, a crop of a photo (Debian's desktop wallpapers, train_detector.py)."""
    if photos and rng.random() < 0.5:
        bg = _wallpaper(rng, photos, cache)
    else:
        pool = cache.setdefault("__backgrounds", [])
        if len(pool) < 256:
            pool.append(_background(rng, 640, 360))
        bg = pool[int(rng.integers(len(pool)))]
    x0 = int(rng.integers(0, 640 - rw + 1))
    frame = bg[:, x0:x0 + rw][:, ::-1 if rng.random() < 0.5 else 1]
    return np.clip(frame.astype(np.int16) + rng.integers(-30, 31, 3).astype(np.int16), 0, 255).astype(np.uint8)


def camera(frame, rng):
    """Light, blur or a low-resolution round trip, JPEG; then the stretch to a tile."""
    rh, rw = frame.shape[:2]
    gamma, gain, cast = rng.uniform(0.7, 1.5), rng.uniform(0.5, 1.3), rng.uniform(0.85, 1.15, 3)
    frame = _light(frame, gamma, gain, cast)
    r = rng.random()
    if r < 0.3:
        frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.5, 2.0))
    elif r < 0.5:
        k = rng.uniform(0.35, 0.8)
        small = cv2.resize(frame, (round(rw * k), round(rh * k)), interpolation=cv2.INTER_AREA)
        frame = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
    frame = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return cv2.resize(frame, (TILE_W, TILE_H), interpolation=cv2.INTER_LINEAR)


def make_scene(labelled, cache, rng, photos=None):
    """A tile holding one labelled data-set image whole, as a close-up (its face 60-300 camera px), and
    that face's box. train_detector.py adds the shipped detector's own boxes on the tile (a second face,
    ignored when unsure): the image's clothes, hands, signs and rooms are background, as the shipped
    model sees them."""
    rw, rh = (640, 360) if rng.random() < 0.7 else (480, 360)
    frame = backdrop(rng, cache, photos, rw, rh)
    path, _lab, fb, cls = labelled[int(rng.integers(len(labelled)))]
    if path not in cache:
        cache[path] = load_rgb(path)
    img = cache[path]
    s = math.exp(rng.uniform(math.log(60), math.log(300))) / (fb[3] - fb[1])
    s = min(s, rw / img.shape[1], rh / img.shape[0])
    nw, nh = max(2, round(img.shape[1] * s)), max(2, round(img.shape[0] * s))
    x, y = int(rng.integers(0, rw - nw + 1)), int(rng.integers(0, rh - nh + 1))
    frame[y:y + nh, x:x + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    sx, sy = TILE_W / rw, TILE_H / rh
    box = ((x + fb[0] * s) * sx, (y + fb[1] * s) * sy, (x + fb[2] * s) * sx, (y + fb[3] * s) * sy)
    return camera(frame, rng), [(box, cls, False)]


def make_frame(labelled, cache, rng, photos=None):
    """One 320x240 RGB tile and its boxes [(x1, y1, x2, y2) in tile pixels, class, ignore]."""
    rw, rh = (640, 360) if rng.random() < 0.7 else (480, 360)
    frame = backdrop(rng, cache, photos, rw, rh)
    boxes, taken = [], []
    for _ in range(int(rng.integers(1, 6))):
        path, _lab, fb, cls = labelled[int(rng.integers(len(labelled)))]
        if path not in cache:
            cache[path] = load_rgb(path)
        img = cache[path]
        fh_target = math.exp(rng.uniform(math.log(16), math.log(300)))
        s = fh_target / (fb[3] - fb[1])
        ih, iw = img.shape[:2]
        nw, nh = max(2, round(iw * s)), max(2, round(ih * s))
        if nw > 2 * rw or nh > 2 * rh:
            continue
        face = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        fx1, fy1, fx2, fy2 = fb[0] * s, fb[1] * s, fb[2] * s, fb[3] * s
        fw_, fh_ = fx2 - fx1, fy2 - fy1
        if rng.random() < 0.35:  # a face cut by one edge: 25-70 % of it outside
            cut, edge = rng.uniform(0.25, 0.7), int(rng.integers(4))
            if edge == 0:
                x = round(-fx1 - cut * fw_)
            elif edge == 1:
                x = round(rw - fx2 + cut * fw_)
            if edge in (0, 1):
                y = int(rng.uniform(-fy1, max(-fy1 + 1, rh - fy2)))
            if edge == 2:
                y = round(-fy1 - cut * fh_)
            elif edge == 3:
                y = round(rh - fy2 + cut * fh_)
            if edge in (2, 3):
                x = int(rng.uniform(-fx1, max(-fx1 + 1, rw - fx2)))
        else:
            x = int(rng.uniform(min(0, rw - nw), max(1, rw - nw)))
            y = int(rng.uniform(min(0, rh - nh), max(1, rh - nh)))
        box = (x + fx1, y + fy1, x + fx2, y + fy2)
        if any(not (box[2] < t[0] - 4 or box[0] > t[2] + 4 or box[3] < t[1] - 4 or box[1] > t[3] + 4) for t in taken):
            continue
        # paste the visible part of the image
        px1, py1, px2, py2 = max(0, x), max(0, y), min(rw, x + nw), min(rh, y + nh)
        if px2 <= px1 or py2 <= py1:
            continue
        if rng.random() < 0.15:  # a hand at the side of the face
            ax, ay = max(2, int(fw_ / 6)), max(2, int(fh_ / 4))
            cx = int(fx1 + (rng.uniform(0, 0.15) if rng.random() < 0.5 else rng.uniform(0.85, 1.0)) * fw_)
            cy = int(fy1 + rng.uniform(0.3, 0.9) * fh_)
            skin = (rng.uniform(150, 240), rng.uniform(100, 190), rng.uniform(80, 160))
            cv2.ellipse(face, (cx, cy), (ax, ay), float(rng.uniform(0, 180)), 0, 360, skin, -1)
        frame[py1:py2, px1:px2] = face[py1 - y:py2 - y, px1 - x:px2 - x]
        taken.append((x, y, x + nw, y + nh))
        vis = (max(0, min(rw, box[2]) - max(0, box[0])) * max(0, min(rh, box[3]) - max(0, box[1]))) / (fw_ * fh_)
        clipped = (max(0, box[0]), max(0, box[1]), min(rw, box[2]), min(rh, box[3]))
        boxes.append((clipped, cls, vis))
    tile = camera(frame, rng)
    sx, sy = TILE_W / rw, TILE_H / rh
    out = []
    for (x1, y1, x2, y2), cls, vis in boxes:
        b = (x1 * sx, y1 * sy, x2 * sx, y2 * sy)
        ignore = vis < 0.4 or (b[3] - b[1]) < 6 or (b[2] - b[0]) < 3
        out.append((b, cls, ignore))
    return tile, out
