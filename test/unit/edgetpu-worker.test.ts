// The Edge TPU engine worker (Python, /usr/bin/python3): the shared protocol conformance suite,
// run against the real worker with its interpreter replaced by the TEST STAND-IN (this machine
// has no TFLite runtime and no Edge TPU). The stand-in copies the quantised input into the output
// (see runtime.py), so the expected values below check the worker's real input quantisation,
// output dequantisation, framing and model checks, not a network.
import t from 'tap';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineWorker, defaultWorkerCommand } from '../../pipelines/engines/client.js';
import { conformance, frame } from '../helpers/engine-conformance.js';

const coral = join(import.meta.dirname, '..', 'fixtures', 'coral');
const manifestPath = join(coral, 'model.json');
const OUT = 'MobilenetV1/Predictions/Reshape_1';
const standIn = { ...process.env, MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER: '1' };
const noStandIn = { ...process.env };
delete noStandIn.MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER;

// pixels go in as they are (manifest preprocessing = the input quantisation); output scale 1/256, zero point 0
const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;

conformance(t, {
  engine: 'edgetpu',
  options: { command: defaultWorkerCommand('edgetpu'), env: standIn },
  runtimeVersion: /^stand-in interpreter \(tests only/,
  manifestPath,
  modelEngine: 'edgetpu',
  providers: ['edgetpu', 'cpu'],
  provider: 'stand-in:edgetpu',
  inputs: ['input'],
  outputs: [OUT],
  allOutputs: [OUT],
  checkRed: (t, out) => {
    const o = out.outputs.get(OUT)!;
    t.same(o.dims, [1, 1001]);
    t.ok(near(o.data[0], 255 / 256) && o.data[1] === 0 && o.data[2] === 0 && near(o.data[999], 255 / 256) && o.data[1000] === 0, 'red: 255/256 at every third value');
  },
  checkBlue: (t, out) => {
    const o = out.outputs.get(OUT)!;
    t.ok(o.data[0] === 0 && near(o.data[2], 255 / 256) && near(o.data[998], 255 / 256), 'blue: 255/256 at 2, 5, 8 ...');
  },
});

async function started(t: Parameters<Parameters<typeof t.test>[0]>[0], env: NodeJS.ProcessEnv = standIn) {
  const w = new EngineWorker({ command: defaultWorkerCommand('edgetpu'), env });
  t.teardown(() => w.stop(500));
  await w.start();
  return w;
}

t.test('without a real TFLite runtime (and no stand-in) the worker refuses to start, saying why', async (t) => {
  const w = new EngineWorker({ command: defaultWorkerCommand('edgetpu'), env: noStandIn, helloTimeoutMs: 5000 });
  const err = await w.start().catch((e) => e);
  t.equal(err.code, 'WORKER_EXITED');
  t.match(err.message, /exited with code 69/);
  t.match(err.message, /no TFLite runtime: install python3-tflite-runtime/);
});

t.test('a bundle without an Edge TPU file falls back to the CPU TFLite file, with the reason', async (t) => {
  const dir = t.testdir({});
  const raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  copyFileSync(join(coral, raw.files[0].file), join(dir, raw.files[0].file));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...raw, engine: 'tflite', file: raw.files[0].file, sha256: raw.files[0].sha256, files: undefined }));
  const w = await started(t);
  const loaded = await w.load(join(dir, 'model.json'), ['edgetpu', 'cpu']);
  t.equal(loaded.provider, 'stand-in:cpu');
  t.same(loaded.fallbacks, [{ name: 'edgetpu', reason: 'failed to load: the bundle has no "edgetpu" model file' }]);
  const o = (await w.infer(frame(128, 128, [0, 255, 0]), 128, 128)).outputs.get(OUT)!;
  t.ok(o.data[0] === 0 && near(o.data[1], 255 / 256));
});

t.test('files are checked for the engine they are declared for', async (t) => {
  const dir = t.testdir({});
  const raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  for (const f of [raw.file, raw.files[0].file]) copyFileSync(join(coral, f), join(dir, f));
  // swapped: the plain model declared as the Edge TPU file and the other way round
  writeFileSync(join(dir, 'swapped.json'), JSON.stringify({ ...raw, file: raw.files[0].file, sha256: raw.files[0].sha256, files: [{ engine: 'tflite', file: raw.file, sha256: raw.sha256 }] }));
  const w = await started(t);
  const err = await w.load(join(dir, 'swapped.json'), ['edgetpu', 'cpu']).catch((e) => e);
  t.equal(err.code, 'LOAD_FAILED');
  t.match(err.message, /edgetpu: failed to load: mobilenet_v1_0.25_128_quant.tflite is not compiled for the Edge TPU/);
  t.match(err.message, /cpu: failed to load: mobilenet_v1_0.25_128_quant_edgetpu.tflite is compiled for the Edge TPU; the CPU interpreter cannot run it/);
  const loaded = await w.load(manifestPath, ['coral', 'cpu']);
  t.equal(loaded.provider, 'stand-in:cpu');
  t.match(loaded.fallbacks[0], { name: 'coral', reason: /unknown provider/ });
});

t.test('an NCHW manifest is refused: TFLite takes NHWC', async (t) => {
  const dir = t.testdir({});
  const raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  writeFileSync(join(dir, 'nchw.json'), JSON.stringify({ ...raw, input: { ...raw.input, layout: 'NCHW' } }));
  const w = await started(t);
  await t.rejects(w.load(join(dir, 'nchw.json'), ['edgetpu']), { code: 'MANIFEST_INVALID', message: /NHWC/ });
});
