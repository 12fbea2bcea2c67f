// Conformance of the onnxruntime engine worker: a real child process, real onnxruntime-node,
// a real (tiny) ONNX model. Every engine worker must pass these.
import t, { type Test } from 'tap';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineWorker, EngineError } from '../../pipelines/engines/client.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny');
const frame = (r: number, g: number, b: number) => Buffer.from(Array.from({ length: 64 }, () => [r, g, b]).flat());

async function started(t: Test, opts = {}) {
  const w = new EngineWorker(opts);
  t.teardown(() => w.stop(500));
  const hello = await w.start();
  return { w, hello };
}

t.test('handshake, load reports model I/O and the provider, inference is right', async (t) => {
  const { w, hello } = await started(t);
  t.equal(hello.protocol, 1);
  t.equal(hello.engine, 'onnxruntime');
  t.match(hello.runtimeVersion, /^1\.\d+/);
  const loaded = await w.load(join(tiny, 'model.json'), ['cpu']);
  t.equal(loaded.provider, 'cpu');
  t.same(loaded.fallbacks, []);
  t.same(loaded.model, { name: 'tiny', version: '1.0.0', sha256: JSON.parse(readFileSync(join(tiny, 'model.json'), 'utf8')).sha256 });
  t.same(loaded.inputs.map((i) => i.name), ['input']);
  t.same(loaded.outputs.map((o) => o.name).sort(), ['features', 'logits']);
  const red = await w.infer(frame(255, 0, 0), 8, 8);
  const logits = red.outputs.get('logits')!;
  t.same(logits.dims, [1, 2]);
  t.ok(Math.abs(logits.data[0] - 1) < 1e-5 && Math.abs(logits.data[1] + 1) < 1e-5, `red logits ${[...logits.data]}`);
  const blue = await w.infer(frame(0, 0, 255), 8, 8, ['logits', 'features']);
  t.ok(blue.outputs.get('logits')!.data[1] > blue.outputs.get('logits')!.data[0]);
  t.same(blue.outputs.get('features')!.dims, [1, 3]);
  t.same((await w.ping()).busy, false);
});

t.test('asking for cuda/tensorrt on a CPU machine falls back to cpu with the reason', async (t) => {
  const { w } = await started(t);
  const loaded = await w.load(join(tiny, 'model.json'), ['tensorrt', 'cuda', 'cpu']);
  t.equal(loaded.provider, 'cpu');
  t.same(loaded.fallbacks.map((f) => f.name), ['tensorrt', 'cuda']);
  for (const f of loaded.fallbacks) t.match(f.reason, /failed|load|not/i);
});

t.test('the object form with options falls back the same way, options and all', async (t) => {
  const { w } = await started(t);
  const cache = t.testdir({});
  const loaded = await w.load(join(tiny, 'model.json'), [
    { name: 'tensorrt', fp16: true, engineCacheDir: cache, engineCachePath: join(cache, 'x'), workspaceMb: 256 },
    { name: 'cuda', deviceId: 0 },
    { name: 'cpu' },
  ]);
  t.equal(loaded.provider, 'cpu');
  t.same(loaded.fallbacks.map((f) => f.name), ['tensorrt', 'cuda']);
  for (const f of loaded.fallbacks) t.match(f.reason, /^failed to load: /);
  t.equal(loaded.warnings, undefined, 'cpu runs as asked');
  t.equal((await w.infer(frame(255, 0, 0), 8, 8)).outputs.get('logits')!.dims[1], 2);
});

t.test('errors are answered with codes, and the worker keeps serving', async (t) => {
  const { w } = await started(t);
  await t.rejects(w.infer(frame(1, 2, 3), 8, 8), { code: 'NOT_LOADED' });
  const dir = t.testdir({});
  // hash mismatch
  copyFileSync(join(tiny, 'model.onnx'), join(dir, 'model.onnx'));
  const m = JSON.parse(readFileSync(join(tiny, 'model.json'), 'utf8'));
  writeFileSync(join(dir, 'bad-hash.json'), JSON.stringify({ ...m, sha256: '0'.repeat(64) }));
  await t.rejects(w.load(join(dir, 'bad-hash.json'), ['cpu']), { code: 'HASH_MISMATCH' });
  // graph does not match the manifest: wrong size and label count
  writeFileSync(join(dir, 'mismatch.json'), JSON.stringify({ ...m, input: { ...m.input, width: 16, height: 16 }, labels: ['a', 'b', 'c'] }));
  const e = (await w.load(join(dir, 'mismatch.json'), ['cpu']).catch((x) => x)) as EngineError;
  t.equal(e.code, 'MODEL_MISMATCH');
  t.match(e.message, /shape/);
  t.match(e.message, /3 labels/);
  // random bytes named .onnx
  writeFileSync(join(dir, 'junk.onnx'), Buffer.from('this is not a model at all'));
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update(readFileSync(join(dir, 'junk.onnx'))).digest('hex');
  writeFileSync(join(dir, 'junk.json'), JSON.stringify({ ...m, file: 'junk.onnx', sha256: sha }));
  await t.rejects(w.load(join(dir, 'junk.json'), ['cpu']), { code: 'LOAD_FAILED' });
  // a missing manifest
  await t.rejects(w.load(join(dir, 'nope.json'), ['cpu']), { code: 'MANIFEST_INVALID' });
  // still serving after all that
  await w.load(join(tiny, 'model.json'), ['cpu']);
  await t.rejects(w.infer(Buffer.alloc(10), 4, 4), { code: 'BAD_REQUEST' });
  t.equal((await w.infer(frame(255, 0, 0), 8, 8)).outputs.get('logits')!.dims[1], 2);
});

t.test('a killed worker fails pending requests and reports its exit', async (t) => {
  const { w } = await started(t);
  await w.load(join(tiny, 'model.json'), ['cpu']);
  const exited = new Promise<[number | null, string | null]>((r) => w.once('exit', (c, s) => r([c, s])));
  w.kill('SIGKILL');
  const [, signal] = await exited;
  t.equal(signal, 'SIGKILL');
  await t.rejects(w.infer(frame(0, 0, 0), 8, 8), { code: 'WORKER_EXITED' });
});

t.test('a hung worker times out', async (t) => {
  const { w } = await started(t, { inferTimeoutMs: 300 });
  await w.load(join(tiny, 'model.json'), ['cpu']);
  w.kill('SIGSTOP');
  await t.rejects(w.infer(frame(0, 0, 0), 8, 8), { code: 'TIMEOUT' });
  w.kill('SIGKILL');
});
