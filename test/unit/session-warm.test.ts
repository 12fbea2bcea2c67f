// Warming a session at load for the batch sizes it will serve (D158): which sessions are warmed
// (pure), and the bundled face classifier opened for real with onnxruntime-node.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSession, warmBatches, WARM_BATCHES } from '../../pipelines/engines/onnxruntime/session.js';
import { parseManifest } from '../../models/manifest.js';

const root = join(import.meta.dirname, '..', '..');

t.test('warmBatches: the CPU provider with a dynamic batch axis only', async (t) => {
  const dynamic = [{ name: 'input', shape: ['batch', 3, 160, 160] as (number | string)[] }];
  t.same(warmBatches('cpu', dynamic), [...WARM_BATCHES]);
  t.same(warmBatches('cpu', [{ name: 'input', shape: [-1, 3, 160, 160] }]), [...WARM_BATCHES], 'a negative dimension is dynamic too');
  t.same(warmBatches('cpu', [{ name: 'input', shape: [1, 3, 480, 640] }]), [], 'a fixed batch of 1: nothing to warm');
  t.same(warmBatches('cuda', dynamic), [], 'GPU providers plan their own memory');
  t.same(warmBatches('tensorrt', dynamic), [], 'TensorRT: its profile decides the shapes');
  t.same(warmBatches('cpu', []), []);
});

t.test('the bundled face classifier is warmed for 2..8 at once, and still answers', async (t) => {
  const manifest = parseManifest(JSON.parse(readFileSync(join(root, 'models', 'mask-mobilenet', 'model.json'), 'utf8')));
  const bytes = readFileSync(join(root, 'models', 'mask-mobilenet', manifest.file));
  const opened = await openSession(bytes, manifest, ['cpu'], 1);
  t.teardown(() => opened.session.release());
  t.equal(opened.provider, 'cpu');
  t.same(opened.warmedBatches, [2, 3, 4, 5, 6, 7, 8]);
  t.same(opened.warnings, []);
});

t.test('the detector (a fixed batch of 1) is not', async (t) => {
  const dir = join(root, 'models', 'ultraface-masked-rfb-640');
  const manifest = parseManifest(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')));
  const opened = await openSession(readFileSync(join(dir, manifest.file)), manifest, ['cpu'], 1);
  t.teardown(() => opened.session.release());
  t.same(opened.warmedBatches, []);
});
