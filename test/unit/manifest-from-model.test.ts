// edgectl push --labels: the manifest is written from the graph (real onnxruntime) and the labels.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestFromModel, manifestFor, parseLabels } from '../../deploy/manifest-from-model.js';
import { buildBundle } from '../../deploy/push.js';
import { decodeBundle, verifyBundle } from '../../models/bundle.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny', 'model.onnx');

t.test('labels files', async (t) => {
  t.same(parseLabels('mask\n\n# comment\nno_mask  \n'), ['mask', 'no_mask']);
});

t.test('a manifest from the tiny model and two labels, bundled and verified', async (t) => {
  const dir = t.testdir({ 'labels.txt': 'red\nblue\n' });
  const m = await manifestFromModel(tiny, join(dir, 'labels.txt'), { version: '2.0.0' });
  t.equal(m.name, 'model');
  t.equal(m.version, '2.0.0');
  t.same([m.input.name, m.input.layout, m.input.width, m.input.height], ['input', 'NCHW', 8, 8]);
  t.same(m.output, { name: 'logits', kind: 'logits' }, 'the output with one value per label');
  t.same(m.labels, ['red', 'blue']);
  t.match(m.sha256, /^[0-9a-f]{64}$/);
  const b = await buildBundle(tiny, { bytes: Buffer.from(JSON.stringify(m)), path: join(dir, 'model.json') });
  const v = verifyBundle(decodeBundle(b.bundle), { trusted: [], allowUnsigned: true });
  t.equal(v.manifest.version, '2.0.0');
});

t.test('clear errors', async (t) => {
  const dir = t.testdir({ 'five.txt': 'a\nb\nc\nd\ne\n', 'none.txt': '# nothing\n', 'junk.onnx': 'not a model' });
  await t.rejects(manifestFromModel(tiny, join(dir, 'five.txt'), { version: '1' }), /no output has 5 values for the 5 labels/);
  await t.rejects(manifestFromModel(tiny, join(dir, 'none.txt'), { version: '1' }), /has no labels/);
  await t.rejects(manifestFromModel(join(dir, 'junk.onnx'), join(dir, 'five.txt'), { version: '1' }), /not a model onnxruntime can load/);
  const io = { inputs: [{ name: 'x', shape: ['b', 3, 'h', 'w'] as (string | number)[] }], outputs: [{ name: 'y', shape: [1, 2] as (string | number)[] }] };
  t.throws(() => manifestFor(io, ['a', 'b'], 'a'.repeat(64), 'm.onnx', { version: '1' }), /no fixed height and width/);
  t.throws(() => manifestFor({ ...io, inputs: [{ name: 'x', shape: [1, 5, 8, 8] }] }, ['a', 'b'], 'a'.repeat(64), 'm.onnx', { version: '1' }), /expected \[batch, 3, H, W\]/);
  t.throws(() => manifestFor({ ...io, inputs: [{ name: 'x', shape: [1, 3, 8, 8] }] }, ['a', 'b'], 'a'.repeat(64), 'm.onnx', { version: '1', preprocess: 'weird' as never }), /unknown --preprocess/);
});
