// The onnxruntime engine worker: the shared protocol conformance suite (real child process, real
// onnxruntime-node, a real tiny ONNX model), then its execution-provider fallbacks.
import t from 'tap';
import { join } from 'node:path';
import { EngineWorker } from '../../pipelines/engines/client.js';
import { conformance, frame } from '../helpers/engine-conformance.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny', 'model.json');

conformance(t, {
  engine: 'onnxruntime',
  options: {},
  runtimeVersion: /^1\.\d+/,
  manifestPath: tiny,
  modelEngine: 'onnxruntime',
  providers: ['cpu'],
  provider: 'cpu',
  inputs: ['input'],
  outputs: ['features', 'logits'],
  allOutputs: ['logits', 'features'],
  checkRed: (t, out) => {
    const logits = out.outputs.get('logits')!;
    t.same(logits.dims, [1, 2]);
    t.ok(Math.abs(logits.data[0] - 1) < 1e-5 && Math.abs(logits.data[1] + 1) < 1e-5, `red logits ${[...logits.data]}`);
  },
  checkBlue: (t, out) => {
    t.ok(out.outputs.get('logits')!.data[1] > out.outputs.get('logits')!.data[0]);
    t.same(out.outputs.get('features')!.dims, [1, 3]);
  },
});

async function started(t: Parameters<Parameters<typeof t.test>[0]>[0]) {
  const w = new EngineWorker({ helloTimeoutMs: 60000 }); // a loaded CI host can take seconds to start it
  t.teardown(() => w.stop(500));
  await w.start();
  return w;
}

t.test('asking for cuda/tensorrt on a CPU machine falls back to cpu with the reason', async (t) => {
  const w = await started(t);
  const loaded = await w.load(tiny, ['tensorrt', 'cuda', 'cpu']);
  t.equal(loaded.provider, 'cpu');
  t.same(loaded.fallbacks.map((f) => f.name), ['tensorrt', 'cuda']);
  for (const f of loaded.fallbacks) t.match(f.reason, /^failed to load: /);
});

t.test('the object form with options falls back the same way, options and all', async (t) => {
  const w = await started(t);
  const cache = t.testdir({});
  const loaded = await w.load(tiny, [
    { name: 'tensorrt', fp16: true, engineCacheDir: cache, engineCachePath: join(cache, 'x'), workspaceMb: 256 },
    { name: 'cuda', deviceId: 0 },
    { name: 'cpu' },
  ]);
  t.equal(loaded.provider, 'cpu');
  t.same(loaded.fallbacks.map((f) => f.name), ['tensorrt', 'cuda']);
  for (const f of loaded.fallbacks) t.match(f.reason, /^failed to load: /);
  t.equal(loaded.warnings, undefined, 'cpu runs as asked');
  t.equal((await w.infer(frame(8, 8, [255, 0, 0]), 8, 8)).outputs.get('logits')!.dims[1], 2);
});

t.test('an unknown provider is a fallback with its reason; none left is LOAD_FAILED', async (t) => {
  const w = await started(t);
  const loaded = await w.load(tiny, ['openvino', 'cpu']);
  t.equal(loaded.provider, 'cpu');
  t.match(loaded.fallbacks[0], { name: 'openvino', reason: /unknown execution provider/ });
  await t.rejects(w.load(tiny, ['tensorrt']), { code: 'LOAD_FAILED', message: /no execution provider could run the model: tensorrt: failed to load/ });
});

t.test('a batch of frames named by their slots (D134): each frame read from its own', async (t) => {
  const { writeFileSync } = await import('node:fs');
  const w = await started(t);
  await w.load(tiny, ['cpu']);
  const dir = t.testdir({});
  // crops, no detector (D112); faces frames are at least 16 px
  const r16 = frame(16, 16, [255, 0, 0]), b16 = frame(16, 16, [0, 0, 255]);
  writeFileSync(join(dir, 'r16'), r16);
  writeFileSync(join(dir, 'b16'), b16);
  const crops: [number, number, number, number][] = [[0, 0, 16, 16]];
  const slots = await w.facesBatch([{ data: { path: join(dir, 'r16'), bytes: r16.length }, width: 16, height: 16, crops }, { data: { path: join(dir, 'b16'), bytes: b16.length }, width: 16, height: 16, crops }], {});
  const bodies = await w.facesBatch([{ data: r16, width: 16, height: 16, crops }, { data: b16, width: 16, height: 16, crops }], {});
  t.same(slots.results.map((r) => r.faces.map((f) => f.scores)), bodies.results.map((r) => r.faces.map((f) => f.scores)), 'the same answers as the bytes');
  t.not(slots.results[0].faces[0].label, slots.results[1].faces[0].label, 'red and blue frames are told apart (not the same slot twice)');
  await t.rejects(w.facesBatch([{ data: { path: join(dir, 'r16'), bytes: r16.length }, width: 16, height: 16, crops }, { data: b16, width: 16, height: 16, crops }], {}), { code: 'BAD_REQUEST', message: /every frame of a batch names its slot, or none does/ });
});
