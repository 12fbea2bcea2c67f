// edgectl train → eval → bundle → engine worker, on the committed 3-class fixture (test/fixtures/adapt):
// the bundled 2-class model is adapted to mask / no_face / no_mask and must beat the base on the held-out slice.
import t from 'tap';
import { parseMetadata, readMetadataProps } from '../../models/onnx-metadata.js';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHead } from '../../models/onnx-head.js';
import { onnxOutputDims } from '../../models/onnx-inputs.js';
import { decodeBundle, verifyBundle, MANIFEST_NAME } from '../../models/bundle.js';
import { parseManifest } from '../../models/manifest.js';
import { buildBundle } from '../../deploy/push.js';
import { EngineWorker } from '../../pipelines/engines/client.js';

const root = join(import.meta.dirname, '..', '..');
const data = join(root, 'test/fixtures/adapt');
const base = join(root, 'models/mask-mobilenet/model.json');
// edgectl train bumps the base's minor version (1.1.0 → 1.2.0).
const [maj, min] = (JSON.parse(readFileSync(base, 'utf8')).version as string).split('.').map(Number);
const adaptedVersion = `${maj}.${min + 1}.0`;
const edgectl = (args: string[]) => spawnSync(process.execPath, [join(root, 'dist/deploy/edgectl.js'), ...args], { encoding: 'utf8', cwd: root });

t.test('adapt the bundled model to a third class, deterministically, and ship it', async (t) => {
  const dir = t.testdir({});
  const a = join(dir, 'a'), b = join(dir, 'b');
  const r1 = edgectl(['train', data, '--base', base, '-o', a, '--seed', '7']);
  t.equal(r1.status, 0, r1.stderr);
  t.match(r1.stderr, /epoch +\d+\/300 \[/, 'progress per epoch');
  t.match(r1.stderr, /embeddings: \d+ computed, 0 from the cache/);
  t.match(r1.stderr, /note: no_face\/ is not a label of the base model mask-mobilenet \(mask, no_mask\): the adapted model gets it as a new label/, 'a class the base does not know is named');
  t.match(r1.stderr, /calibration: temperature \d+\.\d+ on the 15 val images/);
  const r2 = edgectl(['train', data, '--base', base, '-o', b, '--seed', '7']);
  t.equal(r2.status, 0, r2.stderr);
  const ha = readHead(readFileSync(join(a, 'model.onnx'))), hb = readHead(readFileSync(join(b, 'model.onnx')));
  const featureSize = onnxOutputDims(readFileSync(join(root, 'models/mask-mobilenet/model.onnx')), 'features')?.[1];
  t.same(ha.dims, [3, featureSize], 'a 3-class head on the base\'s features');
  t.ok(Buffer.from(ha.weight.buffer).equals(Buffer.from(hb.weight.buffer)) && Buffer.from(ha.bias.buffer).equals(Buffer.from(hb.bias.buffer)), 'two runs, same seed → identical weights');
  t.ok(readFileSync(join(a, 'model.onnx')).equals(readFileSync(join(b, 'model.onnx'))), 'identical model files');

  const again = edgectl(['train', data, '--base', base, '-o', a, '--seed', '7']);
  t.match(again.stderr, /embeddings: 0 computed, \d+ from the cache/, 'second run on the same folder uses the cache');

  const m = parseManifest(JSON.parse(readFileSync(join(a, 'model.json'), 'utf8')));
  t.same(m.labels, ['mask', 'no_face', 'no_mask']);
  t.equal(m.version, adaptedVersion);
  t.equal(m.features, 'features');
  t.equal(m.output.kind, 'logits');
  const meta = parseMetadata(readMetadataProps(readFileSync(join(a, 'model.onnx'))));
  t.same(meta, { labels: m.labels, preprocess: m.preprocess, outputKind: 'logits', colorOrder: m.input.colorOrder, resize: m.input.resize, name: m.name }, 'labels and preprocessing in the ONNX metadata too');
  const tr = m.training as Record<string, number & Record<string, number>>;
  t.ok(tr.featuresMaxAbsDiff <= 1e-5, `base features unchanged in the written graph (max |Δ| ${tr.featuresMaxAbsDiff})`);
  t.same(tr.split, { train: 42, val: 15, heldOut: 15 });
  t.ok(tr.temperature > 1, `a cooling temperature (${tr.temperature}): 15 of 15 val images right is not 100 % certainty`);

  const ev = edgectl(['eval', data, '--model', join(a, 'model.json'), '--split', join(a, 'split.json'), '--baseline', base, '--report', join(a, 'REPORT.md'), '--json']);
  t.equal(ev.status, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  t.comment(`held-out (${e.after.total}): before ${e.before.accuracy.toFixed(3)} (old classes ${e.beforeOnBase.accuracy.toFixed(3)}), after ${e.after.accuracy.toFixed(3)} (old classes ${e.afterOnBase.accuracy.toFixed(3)})`);
  t.ok(e.after.accuracy > e.before.accuracy, 'the adapted model beats the base on the held-out slice');
  t.ok(e.before.accuracy <= 2 / 3 + 1e-9, 'the base cannot predict no_face');
  t.ok(e.after.perClass.find((c: { label: string }) => c.label === 'no_face').recall >= 0.8, 'the new class is learnt');
  t.ok(e.afterOnBase.accuracy >= e.beforeOnBase.accuracy - 0.1, 'the old classes do not collapse');
  const md = readFileSync(join(a, 'REPORT.md'), 'utf8');
  t.match(md, '![after](REPORT-after.svg)');
  t.match(readFileSync(join(a, 'REPORT-after.svg'), 'utf8'), /^<svg[^]*no_face[^]*<\/svg>$/);

  const bundle = await buildBundle(join(a, 'model.onnx'), join(a, 'model.json'));
  const files = decodeBundle(bundle.bundle);
  t.same(files.map((f) => f.name).sort(), [MANIFEST_NAME, 'model.onnx']);
  const v = verifyBundle(files, { trusted: [], allowUnsigned: true });
  t.equal(v.manifest.version, adaptedVersion);

  const w = new EngineWorker({ helloTimeoutMs: 60000 });
  t.teardown(() => w.stop(500));
  await w.start();
  const loaded = await w.load(join(a, 'model.json'), ['cpu']);
  t.equal(loaded.provider, 'cpu');
  t.same(loaded.model.version, adaptedVersion);
  const { width, height } = v.manifest.input; // the base's input size (160 since 1.3.0)
  const rgb = Buffer.alloc(width * height * 3, 250);
  const out = await w.infer(rgb, width, height);
  t.same(out.outputs.get('logits')!.dims, [1, 3], 'the engine worker runs the adapted graph');
});

t.test('an unreadable image stops training with its file name', async (t) => {
  const root_ = t.testdir({ data: { mask: {}, no_mask: {} } });
  const dir = join(root_, 'data');
  for (const c of ['mask', 'no_mask'])
    for (const f of readdirSync(join(data, c)).slice(0, 3)) copyFileSync(join(data, c, f), join(dir, c, f));
  writeFileSync(join(dir, 'no_mask', 'broken.jpg'), 'not a jpeg');
  const r = edgectl(['train', dir, '--base', base, '-o', join(root_, 'out'), '--min-per-class', '1', '--held-out', '0.01']);
  t.equal(r.status, 1);
  t.match(r.stderr, /no_mask\/broken\.jpg is not a readable image/);
});

t.test('train refuses thin classes and unknown --labels with a clear message', async (t) => {
  const thin = edgectl(['train', data, '--base', base, '-o', t.testdir({}), '--min-per-class', '30']);
  t.equal(thin.status, 1);
  t.match(thin.stderr, 'too few images to train: mask/ has 24, no_face/ has 24, no_mask/ has 24; every class needs at least 30');
  const bad = edgectl(['train', data, '--base', base, '-o', t.testdir({}), '--labels', 'mask,partial']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, '--labels names folders that are not in');
});
