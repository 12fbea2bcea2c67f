// Edge TPU bundles for the ONNX-backed TEST STAND-IN interpreter (pipelines/engines/edgetpu/stand_in_onnx.py,
// selected with MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER=onnx). Each bundle holds a TFLite file with no
// network, only the I/O a Coral model would have (test/fixtures/coral/make_tflite.py), and beside it
// `<file>.stand-in.json` naming the ONNX twin the stand-in runs: the repo's UltraFace RFB-320 as an SSD
// face detector (its post-processing op emulated by the stand-in) and the mask classifier. So the Edge
// TPU worker's own code runs on real detections; only the interpreter is not a Coral's.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
export const ultraface = join(root, 'models/ultraface-rfb-320');
export const maskClassifier = join(root, 'models/mask-mobilenet');
export const onnxStandInEnv = { ...process.env, MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER: 'onnx' };

function tflite(dir: string, file: string, args: string[], engine: 'edgetpu' | 'tflite'): string {
  const r = spawnSync('/usr/bin/python3', [join(root, 'test/fixtures/coral/make_tflite.py'), join(dir, file), ...args.slice(0, 4), engine === 'edgetpu' ? 'edgetpu' : 'cpu', ...args.slice(4)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_tflite.py: ${r.stderr}`);
  return createHash('sha256').update(readFileSync(join(dir, file))).digest('hex');
}

/**
 * UltraFace RFB-320 as an "SSD face detector with post-processing" for the Edge TPU worker: uint8 input
 * (scale 1/128, zero point 127: the manifest's (p - 127) / 128 with no rescaling), 100 output rows.
 */
export function standInDetector(dir: string, engine: 'edgetpu' | 'tflite' = 'edgetpu'): string {
  const src = JSON.parse(readFileSync(join(ultraface, 'model.json'), 'utf8'));
  const file = `ultraface-ssd-stand-in${engine === 'edgetpu' ? '_edgetpu' : ''}.tflite`;
  const sha256 = tflite(dir, file, ['ssd-face', String(src.input.width), String(src.input.height), '100', '127'], engine);
  const { scoreThreshold, iouThreshold } = src.detect;
  writeFileSync(join(dir, `${file}.stand-in.json`), JSON.stringify({ onnx: join(ultraface, src.file), layout: 'NCHW', ssdPostprocess: { scores: src.output.name, boxes: src.detect.boxes, scoreThreshold, iouThreshold } }));
  const m = {
    format: 'mobilenet-edge/model@1', name: 'ultraface-ssd-stand-in', version: '1.0.0', task: 'detect', engine, file, sha256,
    input: { ...src.input, name: 'normalized_input_image_tensor', layout: 'NHWC' },
    preprocess: src.preprocess,
    output: { name: 'TFLite_Detection_PostProcess:2', kind: 'probabilities' },
    detect: { boxes: 'TFLite_Detection_PostProcess', boxFormat: 'ssd-postprocess', count: 'TFLite_Detection_PostProcess:3', scoreThreshold, iouThreshold },
    labels: src.labels,
  };
  const path = join(dir, `detector-${engine}.json`);
  writeFileSync(path, JSON.stringify(m));
  return path;
}

/** The mask classifier as an Edge TPU bundle (float32 I/O: the same numbers as the ONNX model sees). */
export function standInClassifier(dir: string, engine: 'edgetpu' | 'tflite' = 'edgetpu'): string {
  const src = JSON.parse(readFileSync(join(maskClassifier, 'model.json'), 'utf8'));
  const file = `mask-stand-in${engine === 'edgetpu' ? '_edgetpu' : ''}.tflite`;
  const sha256 = tflite(dir, file, ['classify', String(src.input.width), String(src.input.height), String(src.labels.length), src.input.name, src.output.name], engine);
  writeFileSync(join(dir, `${file}.stand-in.json`), JSON.stringify({ onnx: join(maskClassifier, src.file), layout: 'NCHW', outputs: { [src.output.name]: src.output.name } }));
  const m = {
    format: 'mobilenet-edge/model@1', name: 'mask-stand-in', version: src.version, task: 'classify', engine, file, sha256,
    input: { ...src.input, layout: 'NHWC' },
    preprocess: src.preprocess,
    output: src.output,
    labels: src.labels,
    ...(src.decision ? { decision: src.decision } : {}),
  };
  const path = join(dir, `classifier-${engine}.json`);
  writeFileSync(path, JSON.stringify(m));
  return path;
}
