// The Edge TPU worker's faces path (loadDetector / faces), run for real with its interpreter replaced by
// the TEST STAND-IN (no TFLite runtime, no Edge TPU, and no SSD face detector here). The detector file
// is a minimal TFLite flatbuffer with Coral's SSD post-processed I/O and no network
// (test/fixtures/coral/make_tflite.py). The stand-in copies the input pixels into every output, so the
// frame below is built to make exactly one detection: scores[1] = 1 and boxes[1] = (0, 0, 1, 1), the
// whole frame. What this shows: the protocol (loadDetector, faces, errors), frame decoding, the SSD
// outputs read and mapped to frame pixels, the crop rule, one classifier run per face, and the mixed
// layouts inside this worker (detector on the TPU + classifier on the CPU TFLite, and the reverse).
// What it does not show: real detections or labels (the stand-in computes no network).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineWorker, defaultWorkerCommand } from '../../pipelines/engines/client.js';

const coral = join(import.meta.dirname, '..', 'fixtures', 'coral');
const classifier = join(coral, 'model.json');
const labels: string[] = JSON.parse(readFileSync(classifier, 'utf8')).labels;
const env = { ...process.env, MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER: '1' };
const S = 32;

/** A detector bundle: the SSD stand-in file for the TPU ("edgetpu") or the CPU ("tflite"). */
function detector(dir: string, engine: 'edgetpu' | 'tflite'): string {
  const file = engine === 'edgetpu' ? 'ssd_face_stand_in_edgetpu.tflite' : 'ssd_face_stand_in.tflite';
  const r = spawnSync('/usr/bin/python3', [join(coral, 'make_tflite.py'), join(dir, file), 'ssd-face', String(S), String(S), '10', engine === 'edgetpu' ? 'edgetpu' : 'cpu'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const sha256 = createHash('sha256').update(readFileSync(join(dir, file))).digest('hex');
  const m = {
    format: 'mobilenet-edge/model@1', name: 'ssd-face-stand-in', version: '1.0.0', task: 'detect', engine, file, sha256,
    input: { name: 'normalized_input_image_tensor', layout: 'NHWC', width: S, height: S, colorOrder: 'RGB', resize: 'stretch' },
    preprocess: { scale: 1, mean: [128, 128, 128], std: [128, 128, 128] },
    output: { name: 'TFLite_Detection_PostProcess:2', kind: 'probabilities' },
    detect: { boxes: 'TFLite_Detection_PostProcess', boxFormat: 'ssd-postprocess', scoreThreshold: 0.5, iouThreshold: 0.5 },
    labels: ['background', 'face'],
  };
  const path = join(dir, `detector-${engine}.json`);
  writeFileSync(path, JSON.stringify(m));
  return path;
}

/** Pixels 0..1 laid out so the stand-in's copied outputs hold one detection: the whole frame. */
function oneFaceFrame(): Buffer {
  const b = Buffer.alloc(S * S * 3);
  b.set([0, 1, 0, 0, 0, 0, 1, 1]);
  return b;
}

async function worker(t: Parameters<Parameters<typeof t.test>[0]>[0]) {
  const w = new EngineWorker({ command: defaultWorkerCommand('edgetpu'), env, helloTimeoutMs: 60000 });
  t.teardown(() => w.stop(500));
  await w.start();
  return w;
}

t.test('loadDetector and faces: protocol, one face, crop, one classifier run', async (t) => {
  const dir = t.testdir({});
  const det = detector(dir, 'edgetpu');
  const w = await worker(t);
  await t.rejects(w.faces(oneFaceFrame(), S, S), { code: 'NOT_LOADED', message: /no classifier/ });
  t.equal((await w.load(classifier, ['edgetpu', 'cpu'])).provider, 'stand-in:edgetpu');
  await t.rejects(w.faces(oneFaceFrame(), S, S), { code: 'NOT_LOADED', message: /no detector is loaded/ });
  await t.rejects(w.loadDetector(classifier, ['edgetpu']), { code: 'MANIFEST_INVALID', message: /not a detector/ });
  const other = join(dir, 'corners.json');
  const dm = JSON.parse(readFileSync(det, 'utf8'));
  writeFileSync(other, JSON.stringify({ ...dm, detect: { ...dm.detect, boxFormat: 'corners-normalized' } }));
  await t.rejects(w.loadDetector(other, ['edgetpu', 'cpu']), { code: 'MANIFEST_INVALID', message: /reads SSD post-processed outputs .*not "corners-normalized"/ });
  // the same manifest the daemon's config validation reads
  const { parseManifest } = await import('../../models/manifest.js');
  t.match(parseManifest(JSON.parse(readFileSync(det, 'utf8'))).detect, { boxFormat: 'ssd-postprocess' });
  const loaded = await w.loadDetector(det, ['edgetpu', 'cpu']);
  t.equal(loaded.provider, 'stand-in:edgetpu');
  t.same(loaded.model.name, 'ssd-face-stand-in');
  t.same(loaded.outputs.map((o) => o.name), ['TFLite_Detection_PostProcess', 'TFLite_Detection_PostProcess:1', 'TFLite_Detection_PostProcess:2', 'TFLite_Detection_PostProcess:3']);
  const r = await w.faces(oneFaceFrame(), S, S, { margin: 0.2 });
  t.equal(r.faces.length, 1, JSON.stringify(r));
  const f = r.faces[0];
  t.same(f.box, [0, 0, S, S], 'boxes (0, 0, 1, 1) of the detector input = the whole frame');
  t.same(f.crop, [0, 0, S, S], 'margin and squaring clipped to the frame');
  t.equal(f.detScore, 1);
  t.ok(labels.includes(f.label));
  t.equal(f.score, f.scores[f.label]);
  t.equal(r.classifierRuns, 1);
  for (const k of ['detectMs', 'cropMs', 'classifyMs', 'inferMs'] as const) t.ok(r[k] >= 0, k);
  // the classifier was not replaced by the detector: plain inference still classifies
  t.equal((await w.infer(Buffer.alloc(128 * 128 * 3), 128, 128)).outputs.get('MobilenetV1/Predictions/Reshape_1')!.dims.join('x'), '1x1001');
  // bad requests are answered and the worker keeps serving
  await t.rejects(w.faces(Buffer.alloc(10), S, S), { code: 'BAD_REQUEST', message: /expected 3072 for 32x32 RGB24/ });
  await t.rejects(w.faces(oneFaceFrame(), S, S, { maxFaces: 0 }), { code: 'BAD_REQUEST', message: /maxFaces/ });
  t.equal((await w.faces(Buffer.alloc(S * S * 3), S, S)).faces.length, 0, 'a frame of zeros: no face');
  t.equal((await w.faces(oneFaceFrame(), S, S)).faces.length, 1);
});

t.test('mixed layouts in the Edge TPU worker: detector on the CPU + classifier on the TPU, and the reverse', async (t) => {
  const dir = t.testdir({});
  const detCpu = detector(dir, 'tflite');
  const detTpu = detector(dir, 'edgetpu');
  for (const f of ['mobilenet_v1_0.25_128_quant.tflite']) copyFileSync(join(coral, f), join(dir, f));
  const raw = JSON.parse(readFileSync(classifier, 'utf8'));
  const clsCpu = join(dir, 'classifier-cpu.json');
  writeFileSync(clsCpu, JSON.stringify({ ...raw, engine: 'tflite', file: raw.files[0].file, sha256: raw.files[0].sha256, files: undefined }));

  const a = await worker(t);
  t.equal((await a.load(classifier, ['edgetpu', 'cpu'])).provider, 'stand-in:edgetpu');
  const d = await a.loadDetector(detCpu, ['edgetpu', 'cpu']);
  t.equal(d.provider, 'stand-in:cpu', 'no compiled detector: the detector runs on the CPU');
  t.same(d.fallbacks, [{ name: 'edgetpu', reason: 'failed to load: the bundle has no "edgetpu" model file' }]);
  t.equal((await a.faces(oneFaceFrame(), S, S)).faces.length, 1);

  const b = await worker(t);
  const c = await b.load(clsCpu, ['edgetpu', 'cpu']);
  t.equal(c.provider, 'stand-in:cpu', 'no compiled classifier: the classifier runs on the CPU');
  t.equal((await b.loadDetector(detTpu, ['edgetpu', 'cpu'])).provider, 'stand-in:edgetpu');
  t.equal((await b.faces(oneFaceFrame(), S, S)).faces.length, 1);
});

t.test("the Coral install script's detector manifest: parsed by the daemon, accepted by the config for faces mode, loaded by the worker", async (t) => {
  const dir = t.testdir({});
  for (const [f, kind] of [['ssd_mobilenet_v2_face_quant_postprocess_edgetpu.tflite', 'edgetpu'], ['ssd_mobilenet_v2_face_quant_postprocess.tflite', 'cpu']]) {
    const r = spawnSync('/usr/bin/python3', [join(coral, 'make_tflite.py'), join(dir, f), 'ssd-face', '320', '320', '50', kind], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
  }
  const root = join(import.meta.dirname, '..', '..');
  const r = spawnSync('/usr/bin/python3', [join(root, 'deploy/coral/face-detector-manifest.py'), dir], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const { parseManifest } = await import('../../models/manifest.js');
  const m = parseManifest(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')));
  t.match(m, { task: 'detect', engine: 'edgetpu', input: { width: 320, height: 320 }, detect: { boxFormat: 'ssd-postprocess', boxes: 'TFLite_Detection_PostProcess', count: 'TFLite_Detection_PostProcess:3' } });
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ engine: { backend: 'edgetpu', executionProviders: ['edgetpu', 'cpu'] }, model: { path: classifier }, faces: { detector: join(dir, 'model.json') }, cameras: [{ id: 'cam1', url: 'rtsp://192.0.2.1/x', mode: 'faces' }] }), { mode: 0o600 });
  const check = spawnSync(process.execPath, [join(root, 'dist/daemon/main.js'), '--check-config', cfg], { encoding: 'utf8' });
  t.equal(check.status, 0, check.stdout + check.stderr);
  const w = await worker(t);
  await w.load(classifier, ['edgetpu', 'cpu']);
  t.equal((await w.loadDetector(join(dir, 'model.json'), ['edgetpu', 'cpu'])).provider, 'stand-in:edgetpu');
  // the stand-in's count output is the first pixel: 0 rows here
  t.same((await w.faces(Buffer.alloc(64 * 48 * 3), 64, 48)).faces, []);
});
