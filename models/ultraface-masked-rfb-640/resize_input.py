#!/usr/bin/python3
"""Re-target the masked-face UltraFace RFB-640 graph to another input size.

    /usr/bin/python3 models/ultraface-masked/resize_input.py IN.onnx OUT.onnx --width 320 --height 240

The network is fully convolutional; only the input shape and the three prior constants of the
built-in box decoding (centres, and widths/heights twice) depend on the input size. They are
regenerated with UltraFace's own scheme (strides 8/16/32/64, min boxes [[10,16,24],[32,48],
[64,96],[128,192,256]], clamped to 0..1). The script first checks that the scheme reproduces the
constants of IN at IN's size exactly, so it refuses a graph it does not understand.
"""
import argparse, math, sys
import numpy as np
import onnx
from onnx import numpy_helper as nh

STRIDES = [8, 16, 32, 64]
MIN_BOXES = [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]


def priors(w, h):
    out = []
    for k, s in enumerate(STRIDES):
        fw, fh = math.ceil(w / s), math.ceil(h / s)
        for j in range(fh):
            for i in range(fw):
                for m in MIN_BOXES[k]:
                    out.append([(i + 0.5) / fw, (j + 0.5) / fh, m / w, m / h])
    return np.clip(np.array(out, np.float32), 0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('src'); ap.add_argument('dst')
    ap.add_argument('--width', type=int, required=True); ap.add_argument('--height', type=int, required=True)
    a = ap.parse_args()
    m = onnx.load(a.src)
    g = m.graph
    dims = g.input[0].type.tensor_type.shape.dim
    sh, sw = dims[2].dim_value, dims[3].dim_value
    old = priors(sw, sh)
    consts = {n.output[0]: n for n in g.node if n.op_type == 'Constant'}
    found = {'cxcy': [], 'wh': []}
    for name, n in consts.items():
        arr = nh.to_array(n.attribute[0].t)
        if arr.shape == (1, len(old), 2):
            if np.array_equal(arr[0], old[:, :2]): found['cxcy'].append(n)
            elif np.array_equal(arr[0], old[:, 2:]): found['wh'].append(n)
    if len(found['cxcy']) != 1 or len(found['wh']) != 2:
        sys.exit(f'{a.src}: prior constants not recognised (centres {len(found["cxcy"])}, sizes {len(found["wh"])})')
    new = priors(a.width, a.height)
    for key, sl in (('cxcy', slice(0, 2)), ('wh', slice(2, 4))):
        for n in found[key]:
            n.attribute[0].t.CopyFrom(nh.from_array(new[None, :, sl].copy(), n.attribute[0].t.name))
    dims[2].dim_value, dims[3].dim_value = a.height, a.width
    for o in g.output:
        d = o.type.tensor_type.shape.dim
        if len(d) == 3 and d[1].dim_value == len(old): d[1].dim_value = len(new)
    del g.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, a.dst)
    print(f'{a.src} {sw}x{sh} ({len(old)} priors) -> {a.dst} {a.width}x{a.height} ({len(new)} priors)', file=sys.stderr)


if __name__ == '__main__':
    main()
