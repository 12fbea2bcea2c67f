import t from 'tap';
import { classifierManifest } from '../helpers/manifest-fixture.js';
import { parseManifest, checkGraph, ManifestError, inputShape, modelFileFor, modelFiles } from '../../models/manifest.js';

const good = classifierManifest;

t.test('a good manifest parses', async (t) => {
  const m = parseManifest(good());
  t.equal(m.name, 'mask-mobilenet');
  t.same(inputShape(m), [1, 3, 128, 128]);
});

t.test('every problem is named with its key path', async (t) => {
  const bad: any = good();
  bad.file = '../etc/passwd';
  bad.sha256 = 'xyz';
  bad.input.layout = 'CHW';
  bad.labels = ['mask', 'mask'];
  bad.extra = 1;
  const err = t.throws(() => parseManifest(bad, 'm.json')) as unknown as ManifestError;
  t.ok(err instanceof ManifestError);
  const text = err.problems.join('\n');
  for (const k of ['file:', 'sha256:', 'input.layout:', 'labels:', 'extra: unknown key']) t.match(text, k);
});

t.test('graph mismatches are reported', async (t) => {
  const m = parseManifest(good());
  t.same(checkGraph(m, { inputs: [{ name: 'input', shape: ['batch', 3, 128, 128] }], outputs: [{ name: 'logits', shape: ['batch', 2] }] }), []);
  const p = checkGraph(m, { inputs: [{ name: 'input', shape: [1, 3, 160, 160] }], outputs: [{ name: 'logits', shape: [1, 3] }] });
  t.equal(p.length, 2);
  t.match(p[0], /shape \[1, 3, 160, 160\]/);
  t.match(p[1], /3 classes but the manifest lists 2 labels/);
  t.match(checkGraph(m, { inputs: [{ name: 'x', shape: [1, 3, 128, 128] }], outputs: [] })[0], /input "input" is not in the graph/);
});

t.test('bundles: a file per engine, old manifests still mean onnxruntime', async (t) => {
  const old = parseManifest(good());
  t.equal(old.engine, undefined);
  t.same(modelFileFor(old, 'onnxruntime'), { engine: 'onnxruntime', file: 'model.onnx', sha256: 'a'.repeat(64) });
  t.equal(modelFileFor(old, 'edgetpu'), undefined);

  const both = parseManifest({ ...good(), files: [{ engine: 'edgetpu', file: 'model_edgetpu.tflite', sha256: 'b'.repeat(64) }, { engine: 'tflite', file: 'model.tflite', sha256: 'c'.repeat(64) }] });
  t.same(modelFileFor(both, 'edgetpu'), { engine: 'edgetpu', file: 'model_edgetpu.tflite', sha256: 'b'.repeat(64) });
  t.same(modelFiles(both).map((f) => f.engine), ['onnxruntime', 'edgetpu', 'tflite']);

  const tpuOnly = parseManifest({ ...good(), engine: 'edgetpu', file: 'model_edgetpu.tflite' });
  t.equal(modelFileFor(tpuOnly, 'onnxruntime'), undefined, 'an Edge TPU-only bundle has no ONNX file');
  t.equal(modelFileFor(tpuOnly, 'edgetpu')!.file, 'model_edgetpu.tflite');

  const err = t.throws(() =>
    parseManifest({ ...good(), engine: 'coral', files: [{ engine: 'onnxruntime', file: 'x.onnx', sha256: 'b'.repeat(64) }, { engine: 'tflite', file: '../x', sha256: 'B', extra: 1 }, 7] }),
  ) as unknown as ManifestError;
  const text = err.problems.join('\n');
  for (const k of ['engine: expected one of onnxruntime, edgetpu, tflite', 'files[1].file:', 'files[1].sha256:', 'files[1].extra: unknown key', 'files[2]: expected an object']) t.match(text, k);
  t.notMatch(text, /files\[0\]/, 'an invalid engine is reported once, not as a clash with files[0]');
  const dup = t.throws(() => parseManifest({ ...good(), files: [{ engine: 'onnxruntime', file: 'x.onnx', sha256: 'b'.repeat(64) }] })) as unknown as ManifestError;
  t.match(dup.problems.join('\n'), 'files[0].engine: the bundle already has a file for onnxruntime');
});

const detector = () => ({
  ...good(), name: 'ultraface', task: 'detect', file: 'd.onnx',
  input: { name: 'input', layout: 'NCHW', width: 320, height: 240, colorOrder: 'RGB', resize: 'stretch' },
  output: { name: 'scores', kind: 'probabilities' },
  detect: { boxes: 'boxes', boxFormat: 'corners-normalized', scoreThreshold: 0.7, iouThreshold: 0.3 },
  labels: ['BACKGROUND', 'face'],
});

t.test('a detector manifest: detect section required, graph outputs checked', async (t) => {
  const m = parseManifest(detector());
  t.same(m.detect, { boxes: 'boxes', boxFormat: 'corners-normalized', scoreThreshold: 0.7, iouThreshold: 0.3 });
  const { detect: _, ...noDetect } = detector();
  t.throws(() => parseManifest(noDetect), /detect: required/);
  t.throws(() => parseManifest({ ...good(), detect: detector().detect }), /only for task "detect"/);
  t.throws(() => parseManifest({ ...detector(), detect: { boxes: 'boxes', boxFormat: 'xywh', scoreThreshold: 2 } }), /boxFormat[\s\S]*scoreThreshold/);
  const io = (scores: number[], boxes: number[] | null) => ({
    inputs: [{ name: 'input', shape: [1, 3, 240, 320] }],
    outputs: [{ name: 'scores', shape: scores }, ...(boxes ? [{ name: 'boxes', shape: boxes }] : [])],
  });
  t.same(checkGraph(m, io([1, 4420, 2], [1, 4420, 4])), []);
  t.match(checkGraph(m, io([1, 4420, 2], null)).join(), /boxes output "boxes" is not in the graph/);
  t.match(checkGraph(m, io([1, 4420, 3], [1, 4420, 4])).join(), /3 classes but the manifest lists 2/);
  t.match(checkGraph(m, io([1, 4420, 2], [1, 4420, 5])).join(), /expected \[1, anchors, 4\]/);
  t.match(checkGraph(m, io([1, 4420, 2], [1, 17640, 4])).join(), /disagree on the number of anchors/);
});
