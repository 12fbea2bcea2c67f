"""The TFLite runtime behind the Edge TPU worker: tflite_runtime (or ai_edge_litert, or TensorFlow's tf.lite) with the
libedgetpu delegate, pycoral's make_interpreter where pycoral is installed.

STAND_IN_ENV selects a test stand-in instead, the one seam for tests. "1": StandInInterpreter, which
computes no network (it copies its input into its outputs) so the protocol tests know exactly what the
worker must return. "onnx": stand_in_onnx.py, which runs each model's ONNX twin through OpenCV's dnn so
the faces path runs on real detections and labels. Both exist ONLY so tests can drive this worker on
machines without a TFLite runtime, and say so in the hello (runtimeVersion) and in the provider they
report ("stand-in:edgetpu"). Production never sets the variable, and without it and without a real
runtime the worker refuses to start.
"""
import os

import numpy as np

from tflite_model import read_model

STAND_IN_ENV = 'MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER'
EDGETPU_LIB = os.environ.get('MOBILENET_EDGE_EDGETPU_LIB', 'libedgetpu.so.1')


class NoRuntimeError(Exception):
    pass


def find_runtime():
    """A Runtime, or raise NoRuntimeError saying what to install."""
    if os.environ.get(STAND_IN_ENV) == '1':
        return StandInRuntime()
    if os.environ.get(STAND_IN_ENV) == 'onnx':
        from stand_in_onnx import OnnxStandInRuntime
        return OnnxStandInRuntime()
    try:
        import tflite_runtime
        from tflite_runtime.interpreter import Interpreter, load_delegate
        return TfliteRuntime('tflite_runtime ' + getattr(tflite_runtime, '__version__', '?'), Interpreter, load_delegate)
    except ImportError:
        pass
    try:
        # Google's successor package to tflite_runtime (LiteRT), same interpreter API.
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter, load_delegate
        return TfliteRuntime('ai_edge_litert ' + getattr(ai_edge_litert, '__version__', '?'), Interpreter, load_delegate)
    except ImportError:
        pass
    try:
        import tensorflow as tf
        return TfliteRuntime('tensorflow ' + tf.__version__, tf.lite.Interpreter, tf.lite.experimental.load_delegate)
    except ImportError:
        pass
    raise NoRuntimeError(
        'no TFLite runtime: install python3-tflite-runtime (Coral apt repository), the tflite-runtime or '
        'ai-edge-litert wheel for this Python, and libedgetpu1-std for the Edge TPU (deploy/coral/install.sh)')


class TfliteRuntime:
    stand_in = False

    def __init__(self, version, interpreter_cls, load_delegate):
        self.version = version
        self._interpreter = interpreter_cls
        self._load_delegate = load_delegate
        try:
            from pycoral.utils.edgetpu import make_interpreter
            self._make_interpreter = make_interpreter
            self.version += ' + pycoral'
        except ImportError:
            self._make_interpreter = None

    def open(self, model_path, edgetpu):
        """An allocated interpreter for the file; edgetpu=True puts it on the Edge TPU delegate."""
        if edgetpu:
            if self._make_interpreter:
                it = self._make_interpreter(model_path)
            else:
                it = self._interpreter(model_path=model_path, experimental_delegates=[self._load_delegate(EDGETPU_LIB)])
        else:
            it = self._interpreter(model_path=model_path)
        it.allocate_tensors()
        return it


class StandInRuntime:
    """TESTS ONLY. See the module docstring."""
    stand_in = True
    version = 'stand-in interpreter (tests only; no TFLite runtime, computes no network)'

    def open(self, model_path, edgetpu):
        with open(model_path, 'rb') as f:
            return StandInInterpreter(read_model(f.read()))


_NP = {'uint8': np.uint8, 'int8': np.int8, 'float32': np.float32, 'int32': np.int32, 'int16': np.int16}


class StandInInterpreter:
    """TESTS ONLY. The interpreter API subset the worker uses, with the model's real I/O details
    (read from the flatbuffer). invoke() copies the input's values, in order and cycled, into
    each output, cast to the output type; so a test knows exactly what the worker must return."""

    def __init__(self, model):
        self._details_in = [self._details(t, i) for i, t in enumerate(model['inputs'])]
        n = len(model['inputs'])
        self._details_out = [self._details(t, n + i) for i, t in enumerate(model['outputs'])]
        self._tensors = {d['index']: np.zeros(d['shape'], d['dtype']) for d in self._details_in + self._details_out}

    @staticmethod
    def _details(t, index):
        if t['type'] not in _NP:
            raise ValueError('stand-in: tensor type %s is not supported' % t['type'])
        return {'name': t['name'], 'index': index, 'shape': np.array(t['shape'], np.int32), 'dtype': _NP[t['type']],
                'quantization': (float(t['scale'] or 0.0), int(t['zeroPoint'] or 0))}

    def get_input_details(self):
        return self._details_in

    def get_output_details(self):
        return self._details_out

    def set_tensor(self, index, value):
        want = self._tensors[index]
        if value.shape != want.shape or value.dtype != want.dtype:
            raise ValueError('stand-in: tensor %d wants %s %s, got %s %s' % (index, want.dtype, want.shape, value.dtype, value.shape))
        self._tensors[index] = value.copy()

    def invoke(self):
        src = self._tensors[self._details_in[0]['index']].reshape(-1)
        for d in self._details_out:
            n = int(np.prod(d['shape']))
            self._tensors[d['index']] = np.resize(src, n).astype(d['dtype']).reshape(d['shape'])

    def get_tensor(self, index):
        return self._tensors[index].copy()
