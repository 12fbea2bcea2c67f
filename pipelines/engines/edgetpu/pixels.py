"""A faces request's frame -> RGB pixels of the regions the worker needs (the detector input, each face
crop), bit for bit as the onnxruntime worker makes them: pipelines/pre/resample.ts for packed RGB24,
pipelines/pre/yuv.ts for planar I420 (the decoder's own format; the layouts are at the top of
pipelines/engines/protocol.ts), and the detector input from I420 as pipelines/pre/yuv-tensor.ts
(chroma once per 2x2 block, D97). Bilinear with pixel centres aligned, weights in 1/2048ths, integer
sums shifted by 22 bits; I420 is sampled per plane (chroma sited at the centre of its 2x2 block) and
converted with BT.601 limited range. Pure numpy.
"""
import math

import numpy as np

FRAME_FORMATS = ('rgb24', 'i420')


class FrameError(ValueError):
    pass


def js_round(x):
    """Math.round of JavaScript (halves go up)."""
    return math.floor(x + 0.5)


def frame_bytes(fmt, width, height):
    if fmt == 'rgb24':
        return width * height * 3
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def letterbox(src_w, src_h, dst_w, dst_h):
    """(x, y, width, height, scale) of the image inside the target: pipelines/pre/tensor.ts letterbox()."""
    scale = min(dst_w / src_w, dst_h / src_h)
    width = max(1, min(dst_w, js_round(src_w * scale)))
    height = max(1, min(dst_h, js_round(src_h * scale)))
    return (dst_w - width) // 2, (dst_h - height) // 2, width, height, scale


def _weights(frac):
    """Math.round(frac * 2048) for an array."""
    return np.floor(frac * 2048 + 0.5).astype(np.int64)


def _clamped(s, lo_v, hi_v):
    """Tap pairs for coordinates s (pixel centres at integers) clamped to [lo_v, hi_v]: indices a, b
    and b's weight in 1/2048ths (0 and a == b where clamped), as taps()/tapsIn() of the TypeScript side."""
    a = np.floor(s)
    w = s - a
    lo, hi = s <= lo_v, s >= hi_v
    a = a.astype(np.int64)
    a[lo], w[lo] = lo_v, 0
    a[hi], w[hi] = hi_v, 0
    b = np.where(lo | hi, a, a + 1)
    return a, b, _weights(w)


def _taps_rel(n_out, n_in):
    """resample.ts taps() for every output index: source indices a, b in 0..n_in-1 and b's weight /2048."""
    return _clamped((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)


def _taps_abs(n_out, start, n_in):
    """yuv.ts tapsIn(): absolute luma coordinates inside [start, start + n_in - 1], and the coordinates s."""
    s = start + (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    return _clamped(s, start, start + n_in - 1) + (s,)


def _taps_chroma(s, n):
    """yuv.ts taps((s + 0.5) / 2 - 0.5, n): chroma plane indices for luma coordinates s."""
    return _clamped((s + 0.5) / 2 - 0.5, 0, n - 1)


def _block_taps(n_out, scale, n_c):
    """pipelines/pre/yuv-tensor.ts: chroma taps once per block of two output pixels, at the block's
    centre (luma coordinate centre * scale - 0.5, chroma (centre * scale) / 2 - 0.5), clamped to the plane."""
    k = np.arange((n_out + 1) // 2)
    centre = (2 * k + np.minimum(2 * k + 2, n_out)) / 2
    return _clamped(centre * scale / 2 - 0.5, 0, n_c - 1)


def _lerp(plane, ya, yb, wy, xa, xb, wx):
    """Bilinear of a 2-D (or H x W x 3) integer plane at the taps: ((p*iw + q*w)*iwy + (..)*wy + 2^21) >> 22."""
    p = plane.astype(np.int64)
    extra = (None,) * (p.ndim - 2)
    wx_ = wx[(None, slice(None)) + extra]
    wy_ = wy[(slice(None), None) + extra]
    top = p[ya][:, xa] * (2048 - wx_) + p[ya][:, xb] * wx_
    bottom = p[yb][:, xa] * (2048 - wx_) + p[yb][:, xb] * wx_
    return (top * (2048 - wy_) + bottom * wy_ + 2097152) >> 22


def _canvas(out_w, out_h, fit_rect, pad):
    out = np.empty((out_h, out_w, 3), np.uint8)
    x, y, tw, th = fit_rect
    if tw != out_w or th != out_h:
        out[:] = np.asarray(pad, np.uint8)
    return out


def _fit(rect, out_w, out_h, fit):
    _, _, w, h = rect
    if fit == 'letterbox':
        x, y, tw, th, _ = letterbox(w, h, out_w, out_h)
        return x, y, tw, th
    return 0, 0, out_w, out_h


class Frame:
    """One camera frame of a faces request (no copy of the body)."""

    def __init__(self, fmt, body, width, height):
        self.format, self.width, self.height = fmt, width, height
        if fmt == 'rgb24':
            self.rgb = np.frombuffer(body, np.uint8).reshape(height, width, 3)
        else:
            ysize, cw, ch = width * height, (width + 1) // 2, (height + 1) // 2
            buf = np.frombuffer(body, np.uint8)
            self.y = buf[:ysize].reshape(height, width)
            self.u = buf[ysize:ysize + cw * ch].reshape(ch, cw)
            self.v = buf[ysize + cw * ch:].reshape(ch, cw)

    def region(self, rect, out_w, out_h, fit='stretch', pad=(0, 0, 0)):
        """rect (left, top, width, height) of the frame -> out_h x out_w x 3 uint8 RGB, stretched or
        letterboxed (centred, padded with pad)."""
        left, top, w, h = rect
        if not (w >= 1 and h >= 1 and left >= 0 and top >= 0 and left + w <= self.width and top + h <= self.height):
            raise FrameError('region %s,%s %sx%s is not inside the %sx%s frame' % (left, top, w, h, self.width, self.height))
        fx, fy, tw, th = _fit(rect, out_w, out_h, fit)
        out = _canvas(out_w, out_h, (fx, fy, tw, th), pad)
        if self.format == 'rgb24':
            xa, xb, wx = _taps_rel(tw, w)
            ya, yb, wy = _taps_rel(th, h)
            out[fy:fy + th, fx:fx + tw] = _lerp(self.rgb, ya + top, yb + top, wy, xa + left, xb + left, wx).astype(np.uint8)
            return out
        xa, xb, wx, sx = _taps_abs(tw, left, w)
        ya, yb, wy, sy = _taps_abs(th, top, h)
        ch, cw = self.u.shape
        cxa, cxb, cwx = _taps_chroma(sx, cw)
        cya, cyb, cwy = _taps_chroma(sy, ch)
        yy = _lerp(self.y, ya, yb, wy, xa, xb, wx)
        d = _lerp(self.u, cya, cyb, cwy, cxa, cxb, cwx) - 128
        e = _lerp(self.v, cya, cyb, cwy, cxa, cxb, cwx) - 128
        c = 298 * (yy - 16)
        rgb = np.stack([(c + 409 * e + 128) >> 8, (c - 100 * d - 208 * e + 128) >> 8, (c + 516 * d + 128) >> 8], axis=-1)
        out[fy:fy + th, fx:fx + tw] = np.clip(rgb, 0, 255).astype(np.uint8)
        return out

    def detector_input(self, out_w, out_h, fit='stretch', pad=(0, 0, 0)):
        """The whole frame at the detector's size, as the onnxruntime worker makes it: RGB24 as region();
        I420 as pipelines/pre/yuv-tensor.ts (D97): luma bilinear at every output pixel, chroma bilinear
        once per 2x2 block of output pixels, then BT.601 limited range."""
        if self.format == 'rgb24':
            return self.region((0, 0, self.width, self.height), out_w, out_h, fit, pad)
        fx, fy, tw, th = _fit((0, 0, self.width, self.height), out_w, out_h, fit)
        out = _canvas(out_w, out_h, (fx, fy, tw, th), pad)
        xa, xb, wx, _ = _taps_abs(tw, 0, self.width)
        ya, yb, wy, _ = _taps_abs(th, 0, self.height)
        ch, cw = self.u.shape
        cxa, cxb, cwx = _block_taps(tw, self.width / tw, cw)
        cya, cyb, cwy = _block_taps(th, self.height / th, ch)
        yy = _lerp(self.y, ya, yb, wy, xa, xb, wx)
        up = lambda p: np.repeat(np.repeat(_lerp(p, cya, cyb, cwy, cxa, cxb, cwx), 2, axis=0), 2, axis=1)[:th, :tw]
        d, e = up(self.u) - 128, up(self.v) - 128
        c = 298 * (yy - 16)
        rgb = np.stack([(c + 409 * e + 128) >> 8, (c - 100 * d - 208 * e + 128) >> 8, (c + 516 * d + 128) >> 8], axis=-1)
        out[fy:fy + th, fx:fx + tw] = np.clip(rgb, 0, 255).astype(np.uint8)
        return out


def read_frame(header, body, fmt=None):
    """The request's frame (width, height, format from the header unless fmt is given). Raises
    FrameError with the onnxruntime worker's messages (pipelines/engines/onnxruntime/faces.ts)."""
    w, h = header.get('width'), header.get('height')
    fmt = fmt if fmt is not None else header.get('format', 'rgb24')
    if not (isinstance(w, int) and isinstance(h, int) and not isinstance(w, bool) and 16 <= w <= 8192 and 16 <= h <= 8192):
        raise FrameError('frame size %sx%s must be integers 16..8192' % (w, h))
    if fmt not in FRAME_FORMATS:
        raise FrameError('frame format %s is not one of rgb24, i420' % _json(fmt))
    want = frame_bytes(fmt, w, h)
    if len(body) != want:
        raise FrameError('frame has %d bytes, expected %d for %dx%d %s' % (len(body), want, w, h, fmt.upper()))
    return Frame(fmt, body, w, h)


def _json(v):
    import json
    return json.dumps(v)
