"""Frame -> model input and model output -> float32, for TFLite tensors. Pure numpy.

The manifest's preprocessing gives a real value per pixel: x = (p * scale - mean[c]) / std[c].
A quantised input holds q = round(x / s + z) (s, z from the model), so
  q = p * scale / (std * s) + (z - mean / (std * s)).
When that is the identity (the Coral models: scale 1, mean 128, std 128, s = 1/128, z = 128) the
pixels are fed as they are, without a copy.
"""
import numpy as np

_RANGES = {'uint8': (0, 255), 'int8': (-128, 127), 'int16': (-32768, 32767)}


def input_plan(pre, q_scale, q_zero, dtype):
    """Per-channel (a, b) with model value = p * a + b, and whether it is the identity on uint8."""
    scale, mean, std = pre['scale'], pre['mean'], pre['std']
    if dtype == 'float32':
        a = [scale / std[c] for c in range(3)]
        b = [-mean[c] / std[c] for c in range(3)]
        return a, b, False
    if dtype not in _RANGES:
        raise ValueError('input type %s is not supported' % dtype)
    if not q_scale:
        raise ValueError('quantised %s input without a quantisation scale' % dtype)
    a = [scale / (std[c] * q_scale) for c in range(3)]
    b = [q_zero - mean[c] / (std[c] * q_scale) for c in range(3)]
    identity = dtype == 'uint8' and all(abs(x - 1) < 1e-6 for x in a) and all(abs(x) < 1e-6 for x in b)
    return a, b, identity


def to_input(rgb, width, height, color_order, plan, dtype):
    """Packed RGB24 bytes -> a [1, H, W, 3] array of the model's input type."""
    if len(rgb) != width * height * 3:
        raise ValueError('frame has %d bytes, expected %d for %dx%d RGB24' % (len(rgb), width * height * 3, width, height))
    px = np.frombuffer(rgb, dtype=np.uint8).reshape(1, height, width, 3)
    if color_order == 'BGR':
        px = px[..., ::-1]
    a, b, identity = plan
    if identity:
        return px
    x = px.astype(np.float32) * np.asarray(a, np.float32) + np.asarray(b, np.float32)
    if dtype == 'float32':
        return x
    lo, hi = _RANGES[dtype]
    return np.clip(np.rint(x), lo, hi).astype(dtype)


def to_float(q, q_scale, q_zero):
    """A model output -> float32 (dequantised when the tensor is quantised)."""
    if q.dtype == np.float32:
        return q
    if not q_scale:
        return q.astype(np.float32)
    return (q.astype(np.float32) - np.float32(q_zero)) * np.float32(q_scale)
