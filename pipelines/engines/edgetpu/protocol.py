"""The engine protocol (docs/ARCHITECTURE.md, pipelines/engines/protocol.ts) in Python: frames of
magic "MNE\\x01", header length and body length (uint32 LE), JSON header, raw body. Pure."""
import json
import struct

MAGIC = b'MNE\x01'
PROTOCOL_VERSION = 1
PREFIX = 12
MAX_HEADER = 1 << 20
MAX_BODY = 64 << 20


class ProtocolError(Exception):
    pass


def encode(header, body=b''):
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    if len(h) > MAX_HEADER:
        raise ProtocolError('header of %d bytes exceeds %d' % (len(h), MAX_HEADER))
    return MAGIC + struct.pack('<II', len(h), len(body)) + h + bytes(body)


class FrameDecoder:
    """Reassembles messages from arbitrary chunks. After an error it stays failed."""

    def __init__(self, max_body=MAX_BODY):
        self.buf = bytearray()
        self.failed = None
        self.max_body = max_body

    def push(self, chunk):
        if self.failed:
            raise self.failed
        self.buf += chunk
        out = []
        while len(self.buf) >= PREFIX:
            if bytes(self.buf[:3]) != MAGIC[:3]:
                self._fail('bad magic %s (not an engine protocol frame)' % bytes(self.buf[:4]).hex())
            if self.buf[3] != PROTOCOL_VERSION:
                self._fail('protocol version %d is not supported (expected %d)' % (self.buf[3], PROTOCOL_VERSION))
            h, b = struct.unpack_from('<II', self.buf, 4)
            if h > MAX_HEADER:
                self._fail('header of %d bytes exceeds the %d-byte limit' % (h, MAX_HEADER))
            if b > self.max_body:
                self._fail('body of %d bytes exceeds the %d-byte limit' % (b, self.max_body))
            if len(self.buf) < PREFIX + h + b:
                break
            try:
                header = json.loads(bytes(self.buf[PREFIX:PREFIX + h]).decode('utf-8'))
            except ValueError as e:
                self._fail('header is not JSON: %s' % e)
            if not isinstance(header, dict) or not isinstance(header.get('type'), str):
                self._fail('header has no "type" string')
            body = bytes(self.buf[PREFIX + h:PREFIX + h + b])
            del self.buf[:PREFIX + h + b]
            out.append((header, body))
        return out

    def _fail(self, msg):
        self.failed = ProtocolError(msg)
        self.buf = bytearray()
        raise self.failed


def pack_outputs(outputs):
    """outputs: [(name, dims, float32 numpy array)] -> (meta, body) as the result message wants."""
    meta, parts, offset = [], [], 0
    for name, dims, data in outputs:
        raw = data.astype('<f4', copy=False).tobytes()
        meta.append({'name': name, 'dims': [int(d) for d in dims], 'byteOffset': offset, 'length': int(data.size)})
        parts.append(raw)
        offset += len(raw)
    return meta, b''.join(parts)


class SlotError(Exception):
    """A frame slot that cannot be read (the request's error, code FRAME_GONE)."""


def read_slot(ref):
    """The frame a shared-memory slot {path, bytes} holds (D134), read whole."""
    if not isinstance(ref, dict) or not isinstance(ref.get('path'), str) or not ref['path'].startswith('/') \
            or not isinstance(ref.get('bytes'), int) or isinstance(ref.get('bytes'), bool) or ref['bytes'] < 1:
        raise SlotError('slot must be {path: absolute path, bytes: positive integer} (got %r)' % (ref,))
    try:
        with open(ref['path'], 'rb') as f:
            data = f.read(ref['bytes'])
    except OSError as e:
        raise SlotError('frame slot %s: %s' % (ref['path'], e.strerror or e))
    if len(data) < ref['bytes']:
        raise SlotError('frame slot %s holds %d bytes, the frame is %d' % (ref['path'], len(data), ref['bytes']))
    return data


def slot_body(header, body):
    """A request's body with the frames its header names by slot read in (faces and infer: `slot`;
    facesBatch: each frame's `slot`, in order); a request without slots keeps its body."""
    frames = header.get('frames') if isinstance(header.get('frames'), list) else None
    refs = [f.get('slot') for f in frames if isinstance(f, dict)] if frames is not None else [header.get('slot')]
    named = [r for r in refs if r is not None]
    if not named:
        return body
    if len(named) != len(refs) or body:
        raise SlotError('a request names all its frames by slot or carries them all in its body')
    return b''.join(read_slot(r) for r in named)
