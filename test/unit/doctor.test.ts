// npm run device-check: the pure report, then the real check on this CPU-only machine, which
// must say plainly that only cpu runs and why tensorrt and cuda do not.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatReport, timingStats, verdict, type ProviderCheck } from '../../daemon/doctor-report.js';

const root = join(import.meta.dirname, '..', '..');

t.test('timing statistics and verdict', async (t) => {
  const st = timingStats([4, 1, 2, 3, 10])!;
  t.same({ ...st, fps: Math.round(st.fps * 10) / 10 }, { runs: 5, meanMs: 4, p50Ms: 3, p90Ms: 10, fps: 250 });
  t.equal(timingStats([]), null);
  const cpu: ProviderCheck = { engine: 'onnxruntime', asked: 'cpu', ran: 'cpu', warnings: [], timesMs: [1, 1] };
  const trt: ProviderCheck = { engine: 'onnxruntime', asked: 'tensorrt', ran: null, reason: 'failed to load: no libnvinfer', warnings: [] };
  t.same(verdict([cpu, trt], 'cpu'), { ok: true, problems: [] });
  t.same(verdict([cpu, trt], 'tensorrt'), { ok: false, problems: ['expected provider "tensorrt" does not run here: failed to load: no libnvinfer'] });
  const trtIgnored = { ...trt, ran: 'tensorrt', reason: undefined, warnings: ['wrote no engine'] };
  t.same(verdict([trtIgnored], 'tensorrt').problems, ['tensorrt: wrote no engine']);
  t.same(verdict([cpu], 'cpu', ['cache changed']).problems, ['cache changed']);
  t.same(verdict([cpu], 'edgetpu').problems, ['provider "edgetpu" was not checked']);
  const lines = formatReport('m.json', [cpu, trt], verdict([cpu, trt], 'tensorrt'), 'tensorrt');
  t.match(lines.join('\n'), /cpu +yes +1\.00 \/ 1\.00 \/ 1\.00 +1000\.0/);
  t.match(lines.join('\n'), /tensorrt +NO +failed to load: no libnvinfer/);
  t.match(lines.at(-2)!, /^FAILED \(expected "tensorrt"\):/);
});

const doctor = (...args: string[]) =>
  spawnSync(process.execPath, [...process.execArgv, join(root, 'daemon', 'doctor.ts'), '--model', join(root, 'test/fixtures/tiny/model.json'), '--runs', '5', ...args], { encoding: 'utf8', cwd: root });

t.test('decoders and the detector in the report and verdict', async (t) => {
  const cpu: ProviderCheck = { engine: 'onnxruntime', asked: 'cpu', ran: 'cpu', warnings: [], timesMs: [1, 1], detector: { model: 'uf', ran: 'cpu', timesMs: [2, 2] } };
  const nv = { decoder: 'gstreamer-nv', ok: false, reason: 'GStreamer elements missing: nvv4l2decoder', configured: false };
  t.same(verdict([cpu], 'cpu', [], [nv]), { ok: true, problems: [] }, 'a decoder no camera uses does not fail the check');
  t.same(verdict([cpu], 'cpu', [], [{ ...nv, configured: true }]).problems, ['decoder gstreamer-nv (configured for a camera) is not available: GStreamer elements missing: nvv4l2decoder']);
  const detOff = { ...cpu, detector: { model: 'uf', ran: null, reason: 'failed to load: x' } };
  t.same(verdict([detOff], 'cpu').problems, ['the face detector uf does not run on "cpu": failed to load: x']);
  const text = formatReport('m.json', [cpu], verdict([cpu], 'cpu'), 'cpu', [nv]).join('\n');
  t.match(text, /\+ detector +yes +2\.00 \/ 2\.00 \/ 2\.00 .*\(faces request, uf\)/);
  t.match(text, /decoder gstreamer-nv +NO +GStreamer elements missing/);
  t.notMatch(text, /detector input/, 'no line when the caller did not check');
  t.match(formatReport('m.json', [cpu], verdict([cpu], 'cpu'), 'cpu', [], true).join('\n'), /detector input +WebAssembly SIMD/);
  t.match(formatReport('m.json', [cpu], verdict([cpu], 'cpu'), 'cpu', [], false).join('\n'), /detector input +plain JS: this WebAssembly has no SIMD/);
});

// One real run (classifier + detector on every provider); each provider's checks run where it loads
// and are skipped, with the reason, where it does not (this CPU-only VM: tensorrt and cuda).
const run = doctor('--json', '--detector', join(root, 'models/ultraface-rfb-320/model.json'));
const out = run.status === 0 || run.status === 1 ? JSON.parse(run.stdout) : null;
const by: Record<string, ProviderCheck> = Object.fromEntries((out?.checks ?? []).map((c: ProviderCheck) => [c.asked, c]));

t.test('device-check runs and reports every provider', async (t) => {
  t.equal(run.status, 0, run.stderr);
  t.same(Object.keys(by).sort(), ['cpu', 'cuda', 'tensorrt']);
  t.same(out.verdict, { ok: true, problems: [] });
  t.match(out.decoders, [{ decoder: 'gstreamer-nv', ok: Boolean, reason: String, configured: false }]);
  t.equal(out.simd, true, 'the detector input runs in WebAssembly SIMD here (x86-64)');
});

for (const p of ['cpu', 'cuda', 'tensorrt']) {
  const c = by[p];
  const absent = !c || c.ran !== p ? `${p} does not load on this machine: ${c?.reason ?? 'not checked'}` : false;
  t.test(`${p}: classifier and detector run, timed`, { skip: absent }, async (t) => {
    t.equal(c.ran, p);
    t.equal(c.timesMs?.length, 5);
    t.equal(c.detector?.ran, p, c.detector?.reason);
    t.equal(c.detector?.timesMs?.length, 5);
  });
  if (p !== 'cpu')
    t.test(`${p}: where it does not load, the reason says why`, { skip: absent ? false : `${p} loads here` }, async (t) => {
      t.equal(c.ran, null);
      t.match(c.reason, /failed to load: /);
    });
}

t.test('expecting a provider that does not run fails loudly', { skip: by.tensorrt?.ran === 'tensorrt' ? 'tensorrt runs here' : false }, async (t) => {
  const r = doctor('--expect', 'tensorrt');
  t.equal(r.status, 1);
  t.match(r.stdout, /FAILED \(expected "tensorrt"\):\n  - expected provider "tensorrt" does not run here: failed to load/);
});
