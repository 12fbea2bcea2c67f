"""Read what the engine needs from a TFLite model file: subgraph 0's inputs and outputs (name,
shape, type, quantisation) and the operator codes (an Edge TPU-compiled model holds the custom
operator "edgetpu-custom-op"). A small flatbuffer reader, pure Python, no tflite package needed.

Only the fields below of tensorflow/lite/schema/schema.fbs are read (field index in brackets):
  Model:    operator_codes[1] subgraphs[2]          (file identifier "TFL3" at bytes 4..7)
  OperatorCode: deprecated_builtin_code[0] custom_code[1] builtin_code[3]
  SubGraph: tensors[0] inputs[1] outputs[2] operators[3]
  Tensor:   shape[0] type[1] name[3] quantization[4]
  QuantizationParameters: scale[2] zero_point[3]

Run as a program to print a model's summary as JSON:  tflite_model.py model.tflite
"""
import json
import struct
import sys

TENSOR_TYPES = {0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool',
                7: 'int16', 8: 'complex64', 9: 'int8', 10: 'float64'}
EDGETPU_CUSTOM_OP = 'edgetpu-custom-op'


class ModelFormatError(Exception):
    pass


class _Table:
    """A flatbuffer table at byte position pos of buf."""

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        vt = pos - _i32(buf, pos)
        if vt < 0 or vt + 4 > len(buf):
            raise ModelFormatError('vtable outside the file')
        self.vt = vt
        self.vt_len = _u16(buf, vt)

    def _field(self, i):
        o = 4 + 2 * i
        if o >= self.vt_len:
            return 0
        return _u16(self.buf, self.vt + o)

    def scalar(self, i, fmt, default):
        off = self._field(i)
        if not off:
            return default
        return struct.unpack_from('<' + fmt, self.buf, self.pos + off)[0]

    def _ref(self, i):
        off = self._field(i)
        if not off:
            return None
        p = self.pos + off
        return p + _u32(self.buf, p)

    def table(self, i):
        p = self._ref(i)
        return None if p is None else _Table(self.buf, p)

    def string(self, i):
        p = self._ref(i)
        if p is None:
            return None
        n = _u32(self.buf, p)
        return bytes(self.buf[p + 4:p + 4 + n]).decode('utf-8', 'replace')

    def vector(self, i, fmt):
        p = self._ref(i)
        if p is None:
            return []
        n = _u32(self.buf, p)
        size = struct.calcsize(fmt)
        if p + 4 + n * size > len(self.buf):
            raise ModelFormatError('vector outside the file')
        return list(struct.unpack_from('<%d%s' % (n, fmt), self.buf, p + 4))

    def tables(self, i):
        p = self._ref(i)
        if p is None:
            return []
        n = _u32(self.buf, p)
        if p + 4 + 4 * n > len(self.buf):
            raise ModelFormatError('vector outside the file')
        return [_Table(self.buf, p + 4 + 4 * k + _u32(self.buf, p + 4 + 4 * k)) for k in range(n)]


def _u16(b, p):
    return struct.unpack_from('<H', b, p)[0]


def _u32(b, p):
    return struct.unpack_from('<I', b, p)[0]


def _i32(b, p):
    return struct.unpack_from('<i', b, p)[0]


def _tensor(t):
    q = t.table(4)
    scale = q.vector(2, 'f') if q else []
    zero = q.vector(3, 'q') if q else []
    type_id = t.scalar(1, 'b', 0)
    return {
        'name': t.string(3) or '',
        'shape': t.vector(0, 'i'),
        'type': TENSOR_TYPES.get(type_id, 'type%d' % type_id),
        # per-tensor quantisation; per-channel (several scales) is reported as the list
        'scale': scale[0] if len(scale) == 1 else (scale or None),
        'zeroPoint': zero[0] if len(zero) == 1 else (zero or None),
    }


def read_model(data):
    """Parse TFLite bytes; returns {inputs, outputs, operators, edgetpu}. Raises ModelFormatError."""
    buf = memoryview(bytes(data))
    if len(buf) < 8 or bytes(buf[4:8]) != b'TFL3':
        raise ModelFormatError('not a TFLite model (no "TFL3" file identifier)')
    try:
        model = _Table(buf, _u32(buf, 0))
        codes = []
        for c in model.tables(1):
            custom = c.string(1)
            builtin = max(c.scalar(0, 'b', 0), c.scalar(3, 'i', 0))
            codes.append(custom if custom else 'builtin:%d' % builtin)
        subgraphs = model.tables(2)
        if not subgraphs:
            raise ModelFormatError('the model has no subgraph')
        g = subgraphs[0]
        tensors = g.tables(0)
        ops = g.tables(3)

        def pick(indices):
            out = []
            for i in indices:
                if i < 0 or i >= len(tensors):
                    raise ModelFormatError('tensor index %d out of range' % i)
                out.append(_tensor(tensors[i]))
            return out

        inputs = pick(g.vector(1, 'i'))
        outputs = pick(g.vector(2, 'i'))
        used = [codes[o.scalar(0, 'I', 0)] for o in ops if o.scalar(0, 'I', 0) < len(codes)]
    except (struct.error, IndexError) as e:
        raise ModelFormatError('truncated or corrupt TFLite model (%s)' % e)
    return {'inputs': inputs, 'outputs': outputs, 'operators': len(ops), 'operatorCodes': codes,
            'edgetpu': EDGETPU_CUSTOM_OP in used}


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.stderr.write('usage: tflite_model.py model.tflite\n')
        sys.exit(64)
    with open(sys.argv[1], 'rb') as f:
        try:
            print(json.dumps(read_model(f.read())))
        except ModelFormatError as e:
            sys.stderr.write('%s: %s\n' % (sys.argv[1], e))
            sys.exit(65)
