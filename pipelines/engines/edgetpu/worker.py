#!/usr/bin/python3
"""The Edge TPU engine worker: speaks the engine protocol (version 1) on stdin/stdout like the
onnxruntime worker, runs TFLite models with the libedgetpu delegate (provider "edgetpu") or on
the CPU (provider "cpu", a plain quantised .tflite). Logs go to stderr. Run with /usr/bin/python3
(Debian's tflite / pycoral packages import only there).

Providers, in the order asked:
  edgetpu  the bundle's "edgetpu" file (must hold edgetpu-custom-op), on the Edge TPU delegate
  cpu      the bundle's "tflite" file (a plain TFLite model), on the CPU interpreter
Each must open, match the manifest and pass a warm-up inference; otherwise the next is tried
and the reason is reported in `loaded.fallbacks`.
"""
import hashlib
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from protocol import PROTOCOL_VERSION, FrameDecoder, ProtocolError, SlotError, encode, pack_outputs, slot_body  # noqa: E402
from runtime import NoRuntimeError, find_runtime  # noqa: E402
from tensors import input_plan, to_float, to_input  # noqa: E402
from tflite_model import ModelFormatError, read_model  # noqa: E402
import faces as F  # noqa: E402
import pixels as P  # noqa: E402

PROVIDER_FILES = {'edgetpu': 'edgetpu', 'cpu': 'tflite'}
MAX_BATCH_FRAMES = 64


class WorkerError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


_out = os.fdopen(os.dup(1), 'wb', buffering=0)
sys.stdout = sys.stderr  # stray prints must never reach the protocol stream


def with_slots(header, body):
    """The body with the frames named by shared-memory slot read in (D134); an unreadable slot is FRAME_GONE."""
    try:
        return slot_body(header, body)
    except SlotError as e:
        raise WorkerError('FRAME_GONE', str(e))


def send(header, body=b''):
    data = encode(header, body)
    view = memoryview(data)
    while view:
        n = _out.write(view)
        view = view[n:]


def read_manifest(path):
    try:
        with open(path, 'r', encoding='utf-8') as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        raise WorkerError('MANIFEST_INVALID', 'invalid model manifest %s: %s' % (path, e))
    problems = []
    if not isinstance(m, dict):
        raise WorkerError('MANIFEST_INVALID', 'invalid model manifest %s: not a JSON object' % path)
    for k, kind in (('name', str), ('version', str), ('file', str), ('sha256', str), ('input', dict), ('preprocess', dict), ('output', dict), ('labels', list)):
        if not isinstance(m.get(k), kind):
            problems.append('%s: missing or not a %s' % (k, kind.__name__))
    if not problems:
        i = m['input']
        for k in ('name', 'layout', 'width', 'height', 'colorOrder'):
            if k not in i:
                problems.append('input.%s: missing' % k)
        if i.get('layout') not in (None, 'NHWC'):
            problems.append('input.layout: TFLite models take NHWC, the manifest says %s' % i.get('layout'))
        if 'name' not in m['output']:
            problems.append('output.name: missing')
    if problems:
        raise WorkerError('MANIFEST_INVALID', 'invalid model manifest %s: %s' % (path, '; '.join(problems)))
    return m


def model_file(manifest, engine):
    if manifest.get('engine', 'onnxruntime') == engine:
        return manifest['file'], manifest['sha256']
    for f in manifest.get('files') or []:
        if isinstance(f, dict) and f.get('engine') == engine:
            return f.get('file'), f.get('sha256')
    return None, None


def check_graph(m, model):
    """The same checks as models/manifest.ts checkGraph, for TFLite I/O."""
    problems = []
    inp = next((t for t in model['inputs'] if t['name'] == m['input']['name']), None)
    want = [1, m['input']['height'], m['input']['width'], 3]
    if inp is None:
        problems.append('input "%s" is not in the graph (graph inputs: %s)' % (m['input']['name'], ', '.join(t['name'] for t in model['inputs'])))
    elif list(inp['shape']) != want:
        problems.append('input "%s" has shape %s but the manifest says NHWC %s' % (inp['name'], inp['shape'], want))
    out = next((t for t in model['outputs'] if t['name'] == m['output']['name']), None)
    if out is None:
        problems.append('output "%s" is not in the graph (graph outputs: %s)' % (m['output']['name'], ', '.join(t['name'] for t in model['outputs'])))
    elif m.get('task', 'classify') == 'classify' and out['shape'] and out['shape'][-1] != len(m['labels']):
        problems.append('output "%s" has %d classes but the manifest lists %d labels' % (out['name'], out['shape'][-1], len(m['labels'])))
    if m.get('task') == 'detect':
        names = [t['name'] for t in model['outputs']]
        for k in ('boxes', 'count'):
            n = (m.get('detect') or {}).get(k)
            if (k == 'boxes' or n) and n not in names:
                problems.append('detect.%s "%s" is not a graph output (graph outputs: %s)' % (k, n, ', '.join(names)))
    return problems


class Engine:
    def __init__(self, runtime):
        self.runtime = runtime
        self.active = None
        self.detector = None

    def open_provider(self, name, manifest_path, m):
        """(interpreter, model info, path) for one provider; raises WorkerError(MODEL_*) for bundle problems
        and plain exceptions for 'this provider cannot run here' (a fallback)."""
        engine = PROVIDER_FILES[name]
        fname, sha = model_file(m, engine)
        if not fname:
            raise LookupError('the bundle has no "%s" model file' % engine)
        path = os.path.join(os.path.dirname(manifest_path), fname)
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError as e:
            raise WorkerError('MODEL_MISSING', 'model file %s named by %s cannot be read: %s' % (path, manifest_path, e))
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha:
            raise WorkerError('HASH_MISMATCH', 'model file %s has sha256 %s but the manifest says %s' % (path, digest, sha))
        try:
            info = read_model(data)
        except ModelFormatError as e:
            raise WorkerError('LOAD_FAILED', '%s: %s' % (path, e))
        if name == 'edgetpu' and not info['edgetpu']:
            raise LookupError('%s is not compiled for the Edge TPU (no edgetpu-custom-op; run edgetpu_compiler)' % fname)
        if name == 'cpu' and info['edgetpu']:
            raise LookupError('%s is compiled for the Edge TPU; the CPU interpreter cannot run it' % fname)
        problems = check_graph(m, info)
        if problems:
            raise WorkerError('MODEL_MISMATCH', 'model does not match its manifest: ' + '; '.join(problems))
        return self.runtime.open(path, name == 'edgetpu'), info

    def load_detector(self, msg):
        """loadDetector: an SSD face detector with post-processing in the graph (task "detect")."""
        path = msg.get('manifestPath')
        if not isinstance(path, str):
            raise WorkerError('BAD_REQUEST', 'loadDetector needs a manifestPath')
        m = read_manifest(path)
        if m.get('task') != 'detect' or not isinstance(m.get('detect'), dict):
            raise WorkerError('MANIFEST_INVALID', '%s is a "%s" model, not a detector (task "detect")' % (path, m.get('task', 'classify')))
        if m['detect'].get('boxFormat') != 'ssd-postprocess':
            raise WorkerError('MANIFEST_INVALID', '%s: the Edge TPU worker reads SSD post-processed outputs (detect.boxFormat "ssd-postprocess"), not "%s"'
                              % (path, m['detect'].get('boxFormat')))
        classifier, self.active = self.active, None
        try:
            reply = self.load(msg)
            self.detector, self.active = self.active, classifier
        except Exception:
            self.active = classifier
            raise
        return reply

    def faces_models(self, needs_detector, needs_classifier):
        """The loaded models a faces request needs, or WorkerError NOT_LOADED / BAD_REQUEST."""
        if needs_classifier and self.active is None:
            raise WorkerError('NOT_LOADED', 'no classifier is loaded')
        if needs_detector and self.detector is None:
            raise WorkerError('NOT_LOADED', 'no detector is loaded (send loadDetector first)')
        if needs_classifier and self.active['manifest'].get('task', 'classify') != 'classify':
            raise WorkerError('BAD_REQUEST', 'the loaded model is not a classifier')
        return (self.detector if needs_detector else None), (self.active if needs_classifier else None)

    def faces(self, msg, body):
        """faces: detect on the frame (RGB24 or I420), crop each face (margin, squared, clipped), classify
        the crops; `crops` given: classify those regions only; `detectOnly`: no classifier."""
        det, cls = self.faces_models(msg.get('crops') is None, not msg.get('detectOnly'))
        try:
            frame = P.read_frame(msg, body)
            F.check_options(msg)
            crops = F.check_crops(msg.get('crops'), frame.width, frame.height)
        except (F.FacesRequestError, P.FrameError) as e:
            raise WorkerError('BAD_REQUEST', str(e))
        r = F.run_faces([(frame, crops)], msg, det, cls, self.run)[0]
        return dict({'type': 'facesResult', 'id': msg.get('id')}, **r)

    def faces_batch(self, msg, body):
        """facesBatch: several frames (each its own size and format) one after the other in the body."""
        sizes = msg.get('frames') if isinstance(msg.get('frames'), list) else []
        if not 1 <= len(sizes) <= MAX_BATCH_FRAMES:
            raise WorkerError('BAD_REQUEST', 'a batch has 1..%d frames (got %d)' % (MAX_BATCH_FRAMES, len(sizes)))
        det, cls = self.faces_models(any(isinstance(f, dict) and f.get('crops') is None for f in sizes), not msg.get('detectOnly'))
        frames, off, view = [], 0, memoryview(body)
        for i, f in enumerate(sizes):
            try:
                if not isinstance(f, dict):
                    raise F.FacesRequestError('each frame needs width and height')
                fmt, w, h = f.get('format', 'rgb24'), f.get('width'), f.get('height')
                n = P.frame_bytes(fmt, w, h) if fmt in P.FRAME_FORMATS and isinstance(w, int) and isinstance(h, int) else 0
                frame = P.read_frame(f, view[off:off + n])
                F.check_options(msg)
                frames.append((frame, F.check_crops(f.get('crops'), w, h)))
            except (F.FacesRequestError, P.FrameError) as e:
                raise WorkerError('BAD_REQUEST', 'frame %d: %s' % (i, e))
            off += n
        if off != len(body):
            raise WorkerError('BAD_REQUEST', 'the body has %d bytes, the frames take %d' % (len(body), off))
        return {'type': 'facesBatchResult', 'id': msg.get('id'), 'results': F.run_faces(frames, msg, det, cls, self.run)}

    def load(self, msg):
        t0 = time.perf_counter()
        manifest_path = msg.get('manifestPath')
        if not isinstance(manifest_path, str):
            raise WorkerError('BAD_REQUEST', 'load needs a manifestPath')
        m = read_manifest(manifest_path)
        fallbacks = []
        for p in msg.get('executionProviders') or ['edgetpu', 'cpu']:
            name = p if isinstance(p, str) else (p or {}).get('name')
            if name not in PROVIDER_FILES:
                fallbacks.append({'name': str(name), 'reason': 'unknown provider "%s" for the Edge TPU engine (known: edgetpu, cpu)' % name})
                continue
            try:
                interp, info = self.open_provider(name, manifest_path, m)
            except WorkerError:
                raise
            except Exception as e:  # the provider cannot run here: fall back
                fallbacks.append({'name': name, 'reason': 'failed to load: %s' % first_line(e)})
                continue
            active = self.prepare(interp, m)
            try:
                w0 = time.perf_counter()
                self.run(active, bytes(m['input']['width'] * m['input']['height'] * 3), [m['output']['name']])
                warmup_ms = (time.perf_counter() - w0) * 1000
            except Exception as e:
                fallbacks.append({'name': name, 'reason': 'loaded but failed its warm-up inference: %s' % first_line(e)})
                continue
            self.active = active
            provider = 'stand-in:' + name if self.runtime.stand_in else name
            return {'type': 'loaded', 'id': msg.get('id'), 'model': {'name': m['name'], 'version': m['version'], 'sha256': m['sha256']},
                    'inputs': [tensor_info(t) for t in info['inputs']], 'outputs': [tensor_info(t) for t in info['outputs']],
                    'provider': provider, 'fallbacks': fallbacks, 'loadMs': (time.perf_counter() - t0) * 1000, 'warmupMs': warmup_ms}
        raise WorkerError('LOAD_FAILED', 'no execution provider could run the model: ' + '; '.join('%s: %s' % (f['name'], f['reason']) for f in fallbacks))

    @staticmethod
    def prepare(interp, m):
        d = next(x for x in interp.get_input_details() if x['name'] == m['input']['name'])
        dtype = d['dtype'].__name__ if hasattr(d['dtype'], '__name__') else str(d['dtype'])
        scale, zero = d['quantization']
        plan = input_plan(m['preprocess'], scale, zero, dtype)
        outs = {x['name']: x for x in interp.get_output_details()}
        return {'interp': interp, 'manifest': m, 'input': d, 'dtype': dtype, 'plan': plan, 'outputs': outs}

    @staticmethod
    def run(a, rgb, names):
        m = a['manifest']
        x = to_input(rgb, m['input']['width'], m['input']['height'], m['input'].get('colorOrder', 'RGB'), a['plan'], a['dtype'])
        it = a['interp']
        it.set_tensor(a['input']['index'], x)
        it.invoke()
        res = []
        for n in names:
            d = a['outputs'].get(n)
            if d is None:
                raise WorkerError('BAD_REQUEST', 'the model has no output "%s" (outputs: %s)' % (n, ', '.join(a['outputs'])))
            scale, zero = d['quantization']
            q = it.get_tensor(d['index'])
            res.append((n, list(q.shape), to_float(q, scale, zero)))
        return res

    def infer(self, msg, body):
        if self.active is None:
            raise WorkerError('NOT_LOADED', 'no model is loaded')
        i = self.active['manifest']['input']
        if msg.get('width') != i['width'] or msg.get('height') != i['height']:
            raise WorkerError('BAD_REQUEST', 'frame is %sx%s, the model takes %sx%s' % (msg.get('width'), msg.get('height'), i['width'], i['height']))
        if len(body) != i['width'] * i['height'] * 3:
            raise WorkerError('BAD_REQUEST', 'frame has %d bytes, expected %d' % (len(body), i['width'] * i['height'] * 3))
        t0 = time.perf_counter()
        names = msg.get('outputs') or [self.active['manifest']['output']['name']]
        try:
            outs = self.run(self.active, body, names)
        except WorkerError:
            raise
        except Exception as e:
            raise WorkerError('INFER_FAILED', first_line(e))
        meta, data = pack_outputs(outs)
        return {'type': 'result', 'id': msg.get('id'), 'outputs': meta, 'inferMs': (time.perf_counter() - t0) * 1000}, data


def tensor_info(t):
    return {'name': t['name'], 'shape': t['shape'], 'type': t['type']}


def first_line(e):
    return str(e).split('\n')[0][:300] or type(e).__name__


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when this worker stops
    try:
        runtime = find_runtime()
    except NoRuntimeError as e:
        sys.stderr.write('edgetpu worker: %s\n' % e)
        return 69  # EX_UNAVAILABLE
    if runtime.stand_in:
        sys.stderr.write('edgetpu worker: TEST STAND-IN interpreter selected: results are not a network\'s\n')
    engine = Engine(runtime)
    decoder = FrameDecoder()
    send({'type': 'hello', 'protocol': PROTOCOL_VERSION, 'engine': 'edgetpu', 'runtimeVersion': runtime.version, 'pid': os.getpid(),
          'frameFormats': list(P.FRAME_FORMATS), 'slots': True})
    while True:
        try:
            chunk = os.read(0, 1 << 20)
        except InterruptedError:
            continue
        if not chunk:
            return 0  # the supervisor went away
        try:
            msgs = decoder.push(chunk)
        except ProtocolError as e:
            sys.stderr.write('engine worker: protocol error on stdin: %s\n' % e)
            return 65
        for header, body in msgs:
            t = header['type']
            try:
                if t == 'load':
                    send(engine.load(header))
                elif t == 'loadDetector':
                    send(engine.load_detector(header))
                elif t == 'faces':
                    send(engine.faces(header, with_slots(header, body)))
                elif t == 'facesBatch':
                    send(engine.faces_batch(header, with_slots(header, body)))
                elif t == 'infer':
                    send(*engine.infer(header, with_slots(header, body)))
                elif t == 'ping':
                    send({'type': 'pong', 'id': header.get('id'), 'busy': False})
                elif t == 'shutdown':
                    return 0
                else:
                    raise WorkerError('BAD_REQUEST', 'unknown message type "%s"' % t)
            except WorkerError as e:
                send({'type': 'error', 'id': header.get('id'), 'code': e.code, 'message': str(e)})
            except Exception as e:
                code = 'LOAD_FAILED' if t in ('load', 'loadDetector') else 'INFER_FAILED'
                send({'type': 'error', 'id': header.get('id'), 'code': code, 'message': first_line(e)})


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
