"""The recipe's data: the dataset's split folders, image loading, the runtime's letterbox and
input scaling, and the training-only augmentation. Split out of train.py; train.py re-exports these
names."""

import math
import os
import sys

import cv2
import numpy as np
import torch

LABELS = ["mask", "no_mask"]  # exact label order of the model outputs
IMG_EXT = (".jpg", ".jpeg", ".png")

# --------------------------------------------------------------------------------------------
# Data and preprocessing
# --------------------------------------------------------------------------------------------

def list_split(root, split):
    items = []
    for y, lab in enumerate(LABELS):
        d = os.path.join(root, split, lab)
        if not os.path.isdir(d):
            sys.exit(f"missing folder {d}")
        for n in sorted(os.listdir(d)):
            if n.lower().endswith(IMG_EXT):
                items.append((os.path.join(d, n), y))
    return items


def load_rgb(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f"cannot decode {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _resize(img, nw, nh):
    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if (nw < w or nh < h) else cv2.INTER_LINEAR
    return cv2.resize(img, (nw, nh), interpolation=interp)


def letterbox(img, size):
    """The runtime's fit: scale to fit SxS keeping aspect, centre, pad with black (0,0,0)."""
    h, w = img.shape[:2]
    s = size / max(w, h)
    nw, nh = max(1, min(size, round(w * s))), max(1, min(size, round(h * s)))
    out = np.zeros((size, size, 3), np.uint8)
    x0, y0 = (size - nw) // 2, (size - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = _resize(img, nw, nh)
    return out


def to_input(batch_u8):
    """uint8 NHWC RGB -> float32 NCHW, x = pixel / 127.5 - 1 (manifest: scale 1/127.5, mean 1, std 1)."""
    t = torch.from_numpy(batch_u8) if isinstance(batch_u8, np.ndarray) else batch_u8
    return t.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0).contiguous()


def augment(img, size, rng):
    """Training-only augmentation of one RGB uint8 image, ending in an SxS letterboxed uint8 image.

    Colour changes are made to the photo before it is placed, so the padding stays exactly black
    as at runtime. Geometric jitter is mild so the face stays in the frame.
    """
    x = img.astype(np.float32)
    # brightness, contrast, saturation (random order is not needed; mild factors)
    if rng.random() < 0.8:
        x *= rng.uniform(0.65, 1.35)                                   # brightness
        m = x.mean()
        x = (x - m) * rng.uniform(0.7, 1.3) + m                        # contrast
        g = x @ np.array([0.299, 0.587, 0.114], np.float32)
        x = (x - g[..., None]) * rng.uniform(0.6, 1.4) + g[..., None]  # saturation
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:                                             # hue shift
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + int(rng.integers(-6, 7))) % 180).astype(np.uint8)
        x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if rng.random() < 0.05:                                            # grey
        x = np.repeat(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    r = rng.random()
    if r < 0.15:                                                       # blur
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=rng.uniform(0.4, 1.4))
    elif r < 0.30:                                                     # low-resolution camera crop
        h, w = x.shape[:2]
        f = rng.uniform(0.25, 0.7)
        small = cv2.resize(x, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.35:                                            # camera compression
        # Cameras stream H.264 (4:2:0 chroma, blocky quantisation); JPEG at low quality produces the
        # same kinds of artefacts. Without this, borderline faces flipped label on the video path.
        q = int(rng.integers(15, 61))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(x, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            x = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if rng.random() < 0.5:                                             # horizontal flip
        x = x[:, ::-1]

    if rng.random() < 0.15:                                            # exact runtime letterbox
        return letterbox(np.ascontiguousarray(x), size)

    # scale / aspect jitter, then rotation + shift into the SxS black canvas
    h, w = x.shape[:2]
    s = size / max(w, h) * rng.uniform(0.8, 1.15)
    ar = math.exp(rng.uniform(-0.1, 0.1))
    nw, nh = max(1, round(w * s * ar)), max(1, round(h * s / ar))
    x = _resize(np.ascontiguousarray(x), nw, nh)
    ang = rng.uniform(-12, 12)
    tx, ty = rng.uniform(-0.07, 0.07, size=2) * size
    M = cv2.getRotationMatrix2D(((nw - 1) / 2, (nh - 1) / 2), ang, 1.0)
    M[0, 2] += (size - nw) / 2 + tx
    M[1, 2] += (size - nh) / 2 + ty
    return cv2.warpAffine(x, M, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
