// Hot swap on real parts (ffmpeg camera from a looped clip, onnxruntime workers): every frame the
// engine took is published exactly once across the swap, and a model that fails to load, validate or
// pass its test vectors leaves the old one serving.
import t from 'tap';
import { sharedFrames } from '../helpers/frames.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EngineSupervisor } from '../../pipelines/engines/supervisor.js';
import { createLogger } from '../../daemon/log.js';
import { ModelSwap } from '../../daemon/ota/model-swap.js';
import { Pipeline, type FacesFrameResult, type FrameResult } from '../../pipelines/pipeline.js';
import { sha256Hex } from '../../models/bundle.js';
import { scenesClip } from '../helpers/scenes.js';
import { readManifest } from '../../models/manifest-file.js';
import { TINY_DIR, variantFiles, type VariantOptions } from '../helpers/ota-fixtures.js';

const { onnx } = onnxProto;
const root = join(import.meta.dirname, '..', '..');
const log = createLogger('warn', () => {});
const engine = (manifestPath: string) => new EngineSupervisor({ manifestPath, executionProviders: ['cpu'], threads: 1, inferTimeoutMs: 5000, restartMinMs: 100, restartMaxMs: 1000, worker: { helloTimeoutMs: 60000 } }, log);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeVariant(dir: string, o: VariantOptions): string {
  const d = join(dir, o.version);
  mkdirSync(d, { recursive: true });
  for (const f of variantFiles(o)) writeFileSync(join(d, f.name), f.bytes);
  return join(d, 'model.json');
}

t.test('swap under load: no frame lost or published twice; failures keep the old model', async (t) => {
  const dir = t.testdir({});
  const results: FrameResult[] = [];
  const first = engine(join(TINY_DIR, 'model.json'));
  await first.start();
  const pipeline = new Pipeline(
    { cameras: [{ id: 'cam1', url: pathToFileURL(join(root, 'models/demo/demo.mp4')).href, fps: 25, loop: true }], ffmpegPath: '/usr/bin/ffmpeg', rtspTimeoutSec: 5, stallSec: 10, restartMinMs: 200, restartMaxMs: 1000, frames: sharedFrames(t) },
    await readManifest(join(TINY_DIR, 'model.json')),
    first,
    { classified: (r) => results.push(r), faces: () => undefined },
    log,
  );
  const swap = new ModelSwap(first, engine, pipeline, log);
  t.teardown(async () => {
    await pipeline.stop();
    await swap.current.stop();
  });
  pipeline.start();
  const waitResults = async (n: number, pred: (r: FrameResult) => boolean) => {
    const t0 = Date.now();
    while (results.filter(pred).length < n && Date.now() - t0 < 30000) await sleep(50);
    return results.filter(pred).length;
  };
  t.ok((await waitResults(20, () => true)) >= 20, 'results flow on 1.0.0');

  const v2 = writeVariant(dir, { version: '2.0.0', labels: ['rouge', 'bleu'], tests: [['rouge', [255, 0, 0]], ['bleu', [0, 0, 255]]] });
  const report = await swap.swapTo(v2);
  t.equal(report.loaded.model.version, '2.0.0');
  t.equal(report.unclassified, 0);
  t.ok((await waitResults(20, (r) => r.model.version === '2.0.0')) >= 20, 'results flow on 2.0.0');

  const oldPid = swap.current.pid;
  const bad: [string, VariantOptions, string, RegExp][] = [
    ['label count', { version: '3-labels', labels: ['a', 'b', 'c'] }, 'LOAD_FAILED', /2 classes but the manifest lists 3/],
    ['input shape', { version: '3-shape', edit: (m) => (m.input.layout = 'NHWC') }, 'LOAD_FAILED', /shape/],
    ['truncated onnx', { version: '3-trunc', onnx: (await import('node:fs')).readFileSync(join(TINY_DIR, 'model.onnx')).subarray(0, 150) }, 'LOAD_FAILED', /./],
    ['random bytes', { version: '3-rand', onnx: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 256)) }, 'LOAD_FAILED', /./],
    ['failing test vector', { version: '3-tv', tests: [['blue', [255, 0, 0]]] }, 'TEST_VECTOR_FAILED', /expected "blue"/],
    ['input size', { version: '3-size', edit: (m) => ((m.input.width = 16), (m.input.height = 16)) }, 'INPUT_SIZE_CHANGED', /16x16/],
  ];
  for (const [what, o, code, msg] of bad) {
    await t.rejects(swap.swapTo(writeVariant(dir, o)), { code, message: msg }, `${what}: refused with ${code}`);
    t.equal(swap.current.pid, oldPid, `${what}: the old worker still serves`);
  }
  const n = results.length;
  t.ok((await waitResults(n + 10, () => true)) >= n + 10, 'results still flow on 2.0.0');
  t.ok(results.slice(n).every((r) => r.model.version === '2.0.0'));

  await pipeline.stop();
  await sleep(300);
  const c = pipeline.frameCounts();
  const seqs = results.map((r) => r.frame);
  t.equal(c.failed, 0, 'no frame failed');
  t.equal(c.taken, c.published, `every frame taken was published (taken ${c.taken}, published ${c.published})`);
  t.equal(new Set(seqs).size, seqs.length, 'no frame published twice');
  t.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), 'published in frame order');
  const firstV2 = results.findIndex((r) => r.model.version === '2.0.0');
  t.ok(results.slice(firstV2).every((r) => r.model.version === '2.0.0') && results.slice(0, firstV2).every((r) => r.model.version === '1.0.0'), 'one clean switch from 1.0.0 to 2.0.0');
  t.ok(['rouge', 'bleu'].includes(results.at(-1)!.label), 'labels come from the new manifest');
});

// A faces camera's frames are the camera's own size, whatever the classifier's input: a classifier
// with another input size swaps in under it (the worker crops to the new size), while a classify
// camera beside it would still refuse it. The other model is the bundled one with its graph input
// declared at another size (the network is fully convolutional with global pooling).
function bundledAt(dir: string, size: number): string {
  const src = join(root, 'models/mask-mobilenet');
  const model = onnx.ModelProto.decode(readFileSync(join(src, 'model.onnx')));
  const dims = model.graph!.input!.find((i) => i.name === 'input')!.type!.tensorType!.shape!.dim!;
  dims[2].dimValue = size;
  dims[3].dimValue = size;
  const bytes = Buffer.from(onnx.ModelProto.encode(model).finish());
  const m = JSON.parse(readFileSync(join(src, 'model.json'), 'utf8'));
  Object.assign(m, { version: `${m.version}-${size}`, sha256: sha256Hex(bytes) });
  Object.assign(m.input, { width: size, height: size });
  delete m.tests;
  const d = join(dir, `at-${size}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'model.onnx'), bytes);
  writeFileSync(join(d, 'model.json'), JSON.stringify(m));
  return join(d, 'model.json');
}

t.test('faces cameras: a classifier with another input size swaps in; a classify camera refuses it', async (t) => {
  const dir = t.testdir({});
  const bundled = join(root, 'models/mask-mobilenet/model.json');
  const faces = (manifestPath: string) => new EngineSupervisor({ manifestPath, detectorManifestPath: join(root, 'models/ultraface-masked-rfb-640/model.json'), executionProviders: ['cpu'], threads: 1, inferTimeoutMs: 10000, restartMinMs: 100, restartMaxMs: 1000, worker: { helloTimeoutMs: 60000 } }, log);
  const results: FacesFrameResult[] = [];
  const current = await readManifest(bundled);
  const { version, input } = current;
  const size = input.width === 128 ? 160 : 128;
  const first = faces(bundled);
  await first.start();
  const clip = pathToFileURL(scenesClip).href;
  const settings = { ffmpegPath: '/usr/bin/ffmpeg', rtspTimeoutSec: 5, stallSec: 10, restartMinMs: 200, restartMaxMs: 1000, frames: sharedFrames(t) };
  const pipeline = new Pipeline({ ...settings, cameras: [{ id: 'door', url: clip, fps: 5, loop: true, mode: 'faces', frameWidth: 640, frameHeight: 360 }] }, current, first, { classified: () => undefined, faces: (r) => results.push(r) }, log);
  const swap = new ModelSwap(first, faces, pipeline, log);
  t.teardown(async () => {
    await pipeline.stop();
    await swap.current.stop();
  });
  pipeline.start();
  const waitFaces = async (version: string) => {
    const t0 = Date.now();
    const found = () => results.filter((r) => r.model.version === version && r.faces.length > 0);
    while (found().length < 5 && Date.now() - t0 < 60000) await sleep(100);
    return found();
  };
  t.ok((await waitFaces(version)).length >= 5, `faces read by the ${input.width}x${input.height} classifier`);

  const other = bundledAt(dir, size);
  const mixed = new Pipeline({ ...settings, cameras: [{ id: 'door', url: clip, mode: 'faces' }, { id: 'hall', url: clip, mode: 'classify' }] }, current, first, { classified: () => undefined, faces: () => undefined }, log);
  t.match(mixed.swapProblem(await readManifest(other)), `${size}x${size} frames but camera hall (classify mode) delivers ${input.width}x${input.height}`, 'a classify camera beside it: refused');
  t.equal(mixed.swapProblem(current), null, 'the same size: no problem');

  const report = await swap.swapTo(other);
  t.equal(report.loaded.model.version, `${version}-${size}`);
  t.equal(report.unclassified, 0, 'no frame unclassified across the swap');
  const after = await waitFaces(`${version}-${size}`);
  t.ok(after.length >= 5, `faces read by the ${size}x${size} classifier`);
  t.ok(after.every((r) => r.faces.every((f) => f.label === 'mask' || f.label === 'no_mask')), 'its answers are mask / no_mask');
});
