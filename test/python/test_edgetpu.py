"""Unit tests of the Edge TPU worker's pure modules (run by test/unit/edgetpu-python.test.ts)."""
import os
import struct
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pipelines', 'engines', 'edgetpu'))
CORAL = os.path.join(HERE, '..', 'fixtures', 'coral')

from protocol import FrameDecoder, ProtocolError, encode, pack_outputs  # noqa: E402
from tensors import input_plan, to_float, to_input  # noqa: E402
from tflite_model import ModelFormatError, read_model  # noqa: E402


def coral(name):
    with open(os.path.join(CORAL, name), 'rb') as f:
        return f.read()


class TfliteModelTest(unittest.TestCase):
    def test_cpu_model(self):
        m = read_model(coral('mobilenet_v1_0.25_128_quant.tflite'))
        self.assertEqual(m['inputs'], [{'name': 'input', 'shape': [1, 128, 128, 3], 'type': 'uint8', 'scale': 0.0078125, 'zeroPoint': 128}])
        self.assertEqual(m['outputs'], [{'name': 'MobilenetV1/Predictions/Reshape_1', 'shape': [1, 1001], 'type': 'uint8', 'scale': 0.00390625, 'zeroPoint': 0}])
        self.assertEqual(m['operators'], 31)
        self.assertFalse(m['edgetpu'])
        # CONV_2D 3, DEPTHWISE_CONV_2D 4, AVERAGE_POOL_2D 1, RESHAPE 22, SOFTMAX 25
        self.assertEqual(sorted(m['operatorCodes']), sorted(['builtin:3', 'builtin:4', 'builtin:1', 'builtin:22', 'builtin:25']))

    def test_edgetpu_model(self):
        m = read_model(coral('mobilenet_v1_0.25_128_quant_edgetpu.tflite'))
        self.assertTrue(m['edgetpu'])
        self.assertEqual(m['operators'], 1)
        self.assertEqual(m['operatorCodes'], ['edgetpu-custom-op'])
        self.assertEqual(m['inputs'][0]['shape'], [1, 128, 128, 3])
        self.assertEqual(m['outputs'][0]['scale'], 0.00390625)

    def test_garbage(self):
        with self.assertRaisesRegex(ModelFormatError, 'TFL3'):
            read_model(b'not a model')
        data = coral('mobilenet_v1_0.25_128_quant.tflite')
        with self.assertRaises(ModelFormatError):
            read_model(data[:4096])


class TensorsTest(unittest.TestCase):
    pre_coral = {'scale': 1, 'mean': [128, 128, 128], 'std': [128, 128, 128]}

    def test_identity_quantisation_feeds_pixels_as_they_are(self):
        plan = input_plan(self.pre_coral, 1 / 128, 128, 'uint8')
        self.assertTrue(plan[2])
        rgb = bytes(range(12))
        x = to_input(rgb, 2, 2, 'RGB', plan, 'uint8')
        self.assertEqual(x.shape, (1, 2, 2, 3))
        self.assertEqual(x.dtype, np.uint8)
        self.assertEqual(x.reshape(-1).tolist(), list(range(12)))

    def test_general_quantisation_rounds_and_clips(self):
        # x = p / 255 (0..1); model input uint8 with s = 1/255 * 2, z = 10: q = p / 2 + 10
        pre = {'scale': 1 / 255, 'mean': [0, 0, 0], 'std': [1, 1, 1]}
        plan = input_plan(pre, 2 / 255, 10, 'uint8')
        self.assertFalse(plan[2])
        x = to_input(bytes([0, 100, 255] * 1), 1, 1, 'RGB', plan, 'uint8')
        self.assertEqual(x.reshape(-1).tolist(), [10, 60, 138])
        # int8, BGR order, clipping at 127
        plan8 = input_plan({'scale': 1, 'mean': [0, 0, 0], 'std': [1, 1, 1]}, 1.0, -100, 'int8')
        x8 = to_input(bytes([1, 2, 255]), 1, 1, 'BGR', plan8, 'int8')
        self.assertEqual(x8.reshape(-1).tolist(), [127, -98, -99])

    def test_float_input(self):
        plan = input_plan({'scale': 1 / 127.5, 'mean': [1, 1, 1], 'std': [1, 1, 1]}, 0, 0, 'float32')
        x = to_input(bytes([0, 255, 0]), 1, 1, 'RGB', plan, 'float32')
        np.testing.assert_allclose(x.reshape(-1), [-1, 1, -1], atol=1e-6)

    def test_bad_frames_and_types(self):
        plan = input_plan(self.pre_coral, 1 / 128, 128, 'uint8')
        with self.assertRaisesRegex(ValueError, 'expected 12'):
            to_input(bytes(5), 2, 2, 'RGB', plan, 'uint8')
        with self.assertRaisesRegex(ValueError, 'without a quantisation scale'):
            input_plan(self.pre_coral, 0, 0, 'uint8')
        with self.assertRaisesRegex(ValueError, 'not supported'):
            input_plan(self.pre_coral, 1, 0, 'float16')

    def test_dequantise(self):
        np.testing.assert_allclose(to_float(np.array([0, 128, 255], np.uint8), 1 / 256, 0), [0, 0.5, 255 / 256])
        np.testing.assert_allclose(to_float(np.array([-128, 0], np.int8), 0.5, -128), [0, 64])
        f = np.array([1.5], np.float32)
        self.assertIs(to_float(f, 0, 0), f)


class ProtocolTest(unittest.TestCase):
    def test_round_trip_in_any_chunking(self):
        data = encode({'type': 'infer', 'id': 3, 'width': 2}, b'\x01\x02\x03') + encode({'type': 'ping', 'id': 4})
        d = FrameDecoder()
        got = []
        for i in range(len(data)):
            got += d.push(data[i:i + 1])
        self.assertEqual(got, [({'type': 'infer', 'id': 3, 'width': 2}, b'\x01\x02\x03'), ({'type': 'ping', 'id': 4}, b'')])

    def test_same_bytes_as_the_typescript_encoder(self):
        # protocol.ts: magic, uint32 LE header length, uint32 LE body length, JSON, body
        b = encode({'type': 'ping', 'id': 1})
        self.assertEqual(b[:4], b'MNE\x01')
        self.assertEqual(struct.unpack_from('<II', b, 4), (len(b'{"type":"ping","id":1}'), 0))

    def test_garbage_fails_for_good(self):
        d = FrameDecoder()
        with self.assertRaisesRegex(ProtocolError, 'bad magic'):
            d.push(b'GET / HTTP/1.1\r\n')
        with self.assertRaises(ProtocolError):
            d.push(encode({'type': 'ping'}))
        with self.assertRaisesRegex(ProtocolError, 'version 2'):
            FrameDecoder().push(b'MNE\x02' + bytes(8))
        with self.assertRaisesRegex(ProtocolError, 'exceeds'):
            FrameDecoder(max_body=10).push(b'MNE\x01' + struct.pack('<II', 2, 11))
        with self.assertRaisesRegex(ProtocolError, 'no "type"'):
            FrameDecoder().push(b'MNE\x01' + struct.pack('<II', 2, 0) + b'{}')

    def test_pack_outputs(self):
        meta, body = pack_outputs([('a', [1, 2], np.array([1, 2], np.float32)), ('b', [1], np.array([3], np.float32))])
        self.assertEqual(meta, [{'name': 'a', 'dims': [1, 2], 'byteOffset': 0, 'length': 2}, {'name': 'b', 'dims': [1], 'byteOffset': 8, 'length': 1}])
        self.assertEqual(np.frombuffer(body, '<f4').tolist(), [1, 2, 3])


class FacesTest(unittest.TestCase):
    """The Edge TPU worker's faces path (faces.py): the same rules as the onnxruntime worker's."""

    def setUp(self):
        import faces
        self.F = faces

    def test_frame_decoding_is_checked(self):
        F = self.F
        import pixels as P
        f = P.read_frame({'width': 16, 'height': 16}, bytes(16 * 16 * 3))
        self.assertEqual((f.format, f.rgb.shape), ('rgb24', (16, 16, 3)))
        f = P.read_frame({'width': 17, 'height': 17, 'format': 'i420'}, bytes(17 * 17 + 2 * 9 * 9))
        self.assertEqual((f.y.shape, f.u.shape, f.v.shape), ((17, 17), (9, 9), (9, 9)))
        with self.assertRaisesRegex(P.FrameError, 'expected 768 for 16x16 RGB24'):
            P.read_frame({'width': 16, 'height': 16}, bytes(10))
        with self.assertRaisesRegex(P.FrameError, 'must be integers 16..8192'):
            P.read_frame({'width': 8, 'height': 16}, bytes(8 * 16 * 3))
        with self.assertRaisesRegex(F.FacesRequestError, 'maxFaces'):
            F.check_options({'maxFaces': 0})
        with self.assertRaisesRegex(F.FacesRequestError, 'detectOnly must be a boolean'):
            F.check_options({'detectOnly': 'yes'})

    def test_crops_are_checked(self):
        F = self.F
        self.assertIsNone(F.check_crops(None, 64, 48))
        self.assertEqual(F.check_crops([[0, 0, 64, 48], [10, 5, 3, 2]], 64, 48), [(0, 0, 64, 48), (10, 5, 3, 2)])
        for bad in ([[0, 0, 65, 48]], [[0, 0, 0, 4]], [[1.5, 0, 4, 4]], [[-1, 0, 4, 4]], [[0, 0, 4]], [[True, 0, 4, 4]]):
            with self.assertRaisesRegex(F.FacesRequestError, r'crops\[0\] must be integers \[left, top, width, height\] inside the 64x48 frame'):
                F.check_crops(bad, 64, 48)
        with self.assertRaisesRegex(F.FacesRequestError, 'crops must be a list'):
            F.check_crops('all', 64, 48)

    def test_face_crop_matches_crop_ts(self):
        F = self.F
        # values from pipelines/pre/crop.ts faceCrop (JavaScript's Math.round: halves go up)
        self.assertEqual(F.face_crop((10, 10, 30, 40), 100, 100, 0.2), (0, 4, 41, 42))
        self.assertEqual(F.face_crop((50, 50, 60, 60), 100, 100, 0), (50, 50, 10, 10))
        self.assertEqual(F.face_crop((90, 90, 100, 100), 100, 100, 0.5), (85, 85, 15, 15))
        self.assertIsNone(F.face_crop((10, 10, 10, 20), 100, 100, 0.2))
        import pixels as P
        self.assertEqual(P.js_round(2.5), 3)
        self.assertEqual(P.js_round(-0.5), 0)

    def test_ssd_outputs_to_frame_pixels(self):
        F = self.F
        boxes = np.array([[0.25, 0.5, 0.75, 1.0], [0.0, 0.0, 0.01, 0.01], [0.1, 0.1, 0.5, 0.5]], np.float32)
        scores = np.array([0.9, 0.8, 0.3], np.float32)
        # stretch: a 320x320 detector on a 640x480 frame
        f = F.ssd_faces(boxes, scores, np.array([3.0]), 320, 320, 640, 480, 'stretch', 0.5, 32, 8)
        self.assertEqual(len(f), 1, 'the tiny box and the low score are dropped')
        self.assertEqual([round(v, 3) for v in f[0]], [320.0, 120.0, 640.0, 360.0, 0.9, 1])
        # letterbox: 640x480 into 320x320 is scale 0.5, 40 px bars at the top and bottom
        f = F.ssd_faces(boxes[:1], scores[:1], None, 320, 320, 640, 480, 'letterbox', 0.5, 32, 8)
        self.assertEqual([round(v, 3) for v in f[0][:4]], [320.0, 80.0, 640.0, 400.0])
        # count limits the rows read; maxFaces the faces kept (best first)
        self.assertEqual(F.ssd_faces(boxes, scores, np.array([0.0]), 320, 320, 640, 480, 'stretch', 0.1, 32, 1), [])
        two = np.array([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6]], np.float32)
        self.assertEqual(len(F.ssd_faces(two, np.array([0.6, 0.7]), None, 320, 320, 640, 480, 'stretch', 0.5, 1, 8)), 1)

    def test_resize_and_classify(self):
        F = self.F
        import pixels as P
        img = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
        frame = P.Frame('rgb24', img.tobytes(), 8, 8)
        np.testing.assert_array_equal(frame.region((0, 0, 8, 8), 8, 8), img)
        small = P.Frame('rgb24', np.full((4, 8, 3), 200, np.uint8).tobytes(), 8, 4).region((0, 0, 8, 4), 4, 4, 'letterbox', (0, 0, 0))
        self.assertEqual(small[0].tolist(), [[0, 0, 0]] * 4, 'letterbox bar')
        self.assertEqual(small[1].tolist(), [[200, 200, 200]] * 4)
        with self.assertRaisesRegex(P.FrameError, 'not inside the 8x8 frame'):
            frame.region((4, 4, 5, 4), 8, 8)
        self.assertEqual(F.classify_row([0.25, 0.75], ['mask', 'no_mask'], 'probabilities'), ('no_mask', 0.75, {'mask': 0.25, 'no_mask': 0.75}))
        label, score, _ = F.classify_row([0.0, 0.0], ['a', 'b'], 'logits')
        self.assertEqual((label, score), ('a', 0.5))

    def test_decision_rule_as_decision_ts(self):
        F = self.F
        rule = {'label': 'no_mask', 'threshold': 0.22}
        # models/decision.ts decide(): the rule's label at or above its threshold, else the best other label
        self.assertEqual(F.classify_row([0.78, 0.22], ['mask', 'no_mask'], 'probabilities', rule), ('no_mask', 0.22, {'mask': 0.78, 'no_mask': 0.22}))
        self.assertEqual(F.classify_row([0.79, 0.21], ['mask', 'no_mask'], 'probabilities', rule), ('mask', 0.79, {'mask': 0.79, 'no_mask': 0.21}))
        self.assertEqual(F.classify_row([0.1, 0.3, 0.6], ['a', 'no_mask', 'c'], 'probabilities', {'label': 'no_mask', 'threshold': 0.5})[:2], ('c', 0.6))
        self.assertEqual(F.classify_row([0.1, 0.9], ['a', 'b'], 'probabilities', {'label': 'zzz', 'threshold': 0.5})[:2], ('b', 0.9), 'a rule for a label the model lacks changes nothing')


class StandInPostprocessTest(unittest.TestCase):
    """The ONNX-backed test stand-in's emulation of TFLite_Detection_PostProcess (tests only)."""

    def test_threshold_nms_and_layout(self):
        try:
            from stand_in_onnx import ssd_postprocess
        except ImportError as e:  # python3-opencv / python3-onnx are in .ci/deps
            self.fail('stand_in_onnx needs python3-opencv and python3-onnx: %s' % e)
        scores = np.array([[0.1, 0.9], [0.2, 0.8], [0.5, 0.5], [0.05, 0.95]], np.float32)
        boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.11, 0.1, 0.31, 0.3], [0.5, 0.5, 0.6, 0.6], [0.6, 0.2, 1.2, 0.4]], np.float32)
        b, c, s, n = ssd_postprocess(scores, boxes, 0.7, 0.3, 3)
        self.assertEqual(int(n), 2, 'the 0.8 box overlaps the 0.9 one; the 0.5 one is under the threshold')
        np.testing.assert_allclose(s, [0.95, 0.9, 0], rtol=1e-6)
        np.testing.assert_allclose(b[0], [0.2, 0.6, 0.4, 1.0], rtol=1e-6, err_msg='ymin, xmin, ymax, xmax, clipped to 0..1')
        np.testing.assert_allclose(b[1], [0.1, 0.1, 0.3, 0.3], rtol=1e-6)
        self.assertEqual(c.tolist(), [0, 0, 0])


if __name__ == '__main__':
    unittest.main()
