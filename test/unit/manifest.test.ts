import t from 'tap';
import { parseManifest, checkGraph, ManifestError, inputShape } from '../../models/manifest.js';

const good = () => ({
  format: 'mobilenet-edge/model@1', name: 'mask-mobilenet', version: '1.0.0', task: 'classify',
  file: 'model.onnx', sha256: 'a'.repeat(64),
  input: { name: 'input', layout: 'NCHW', width: 128, height: 128, colorOrder: 'RGB', resize: 'letterbox', padColor: [0, 0, 0] },
  preprocess: { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  output: { name: 'logits', kind: 'logits' },
  labels: ['mask', 'no_mask'],
});

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
