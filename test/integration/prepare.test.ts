// mobilenet-edge --prepare on this machine (no TensorRT): every model is loaded with the daemon's own
// provider requests; tensorrt fails to load (reason reported) and cpu runs; the bookkeeping (a keyed
// cache folder per model and batch profile, key.json, prepared.json saying what ran) is real.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';

type T = Parameters<Parameters<typeof t.test>[0]>[0];
/** A fresh folder (t.testdir would be emptied by a second call in the same test). */
function tmp(t: T): string {
  const d = mkdtempSync(join(tmpdir(), 'prepare-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
function writeConfig(t: T, config: object): string {
  const f = join(tmp(t), 'config.json');
  writeFileSync(f, JSON.stringify(config), { mode: 0o600 });
  return f;
}

const sha = (manifest: string) => {
  const m = JSON.parse(readFileSync(join(ROOT, manifest), 'utf8'));
  return (m.engine ?? 'onnxruntime') === 'onnxruntime' ? m.sha256 : m.files.find((f: { engine: string }) => f.engine === 'onnxruntime').sha256;
};
const CLS = sha('models/mask-mobilenet/model.json');
const DET = sha('models/ultraface-masked-rfb-640/model.json');

function prepare(t: T, cacheDir: string, maxFaces: number) {
  const cfg = writeConfig(t, {
    site: 'site',
    deviceId: 'edge-prep',
    cameras: [{ id: 'cam1', url: 'rtsp://192.0.2.1/x', mode: 'faces' }],
    model: { path: join(ROOT, 'models/mask-mobilenet/model.json') },
    faces: { maxFaces },
    engine: { executionProviders: [{ name: 'tensorrt', engineCacheDir: cacheDir, fp16: true }, 'cpu'], workers: 1 },
  });
  return spawnSync(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--prepare', '--config', cfg], { encoding: 'utf8' });
}

t.test('--prepare leaves a cache folder per model and batch profile, saying what ran', async (t) => {
  const cacheDir = tmp(t);
  const r = prepare(t, cacheDir, 32);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /preparing 2 model\(s\)/);
  t.match(r.stdout, /ok +classifier mask-mobilenet .* batch 1\/8\/32: cpu, load \d+ ms/, 'no "engine built": the cpu provider builds none');
  t.match(r.stdout, /ok +detector ultraface-masked-rfb-640 .*: cpu/);
  t.match(r.stdout, /not tensorrt: failed to load: .*Failed to load shared library/);
  t.same(readdirSync(cacheDir).sort(), [CLS, DET].sort(), 'one folder per model sha256');
  const keyed = (s: string) => readdirSync(join(cacheDir, s)).map((k) => join(cacheDir, s, k));
  const [cls] = keyed(CLS);
  const [det] = keyed(DET);
  const clsKey = JSON.parse(readFileSync(join(cls, 'key.json'), 'utf8'));
  t.match(clsKey, { modelSha256: CLS, profile: { min: 1, opt: 8, max: 32 }, options: { fp16: true } });
  t.notOk(JSON.parse(readFileSync(join(det, 'key.json'), 'utf8')).profile, 'the detector runs batch 1: no profile');
  const prepared = JSON.parse(readFileSync(join(cls, 'prepared.json'), 'utf8'));
  t.match(prepared, { model: 'mask-mobilenet', role: 'classifier', sha256: /^[0-9a-f]{64}$/, provider: 'cpu', built: false, profile: { min: 1, opt: 8, max: 32 } });
  t.match(prepared.fallbacks, [{ name: 'tensorrt', reason: /failed to load/ }]);
  t.match(JSON.parse(readFileSync(join(det, 'prepared.json'), 'utf8')), { model: 'ultraface-masked-rfb-640', role: 'detector', provider: 'cpu' });

  // another batch profile is another cache folder for the classifier; the detector's stays the same
  const again = prepare(t, cacheDir, 4);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /batch 1\/4\/4/);
  t.equal(keyed(CLS).length, 2, 'the classifier now has two profiles cached');
  t.same(keyed(DET), [det]);
});

t.test('--prepare fails (exit 1) naming the model that cannot load', async (t) => {
  const dir = tmp(t);
  // the model file is there, its manifest's sha256 is wrong
  copyFileSync(join(ROOT, 'models/mask-mobilenet/model.onnx'), join(dir, 'model.onnx'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(ROOT, 'models/mask-mobilenet/model.json'), 'utf8')), file: 'model.onnx', sha256: '0'.repeat(64) }));
  const cfg = writeConfig(t, { site: 's', deviceId: 'd', cameras: [{ id: 'cam1', url: 'rtsp://192.0.2.1/x' }], model: { path: join(dir, 'model.json') }, engine: { executionProviders: ['cpu'], workers: 1 } });
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--prepare', '--config', cfg], { encoding: 'utf8' });
  t.equal(r.status, 1, r.stdout + r.stderr);
  t.match(r.stdout, /FAILED classifier mask-mobilenet .*sha256/);
});
