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

t.test('on this CPU-only machine: cpu runs, tensorrt and cuda do not, with reasons', async (t) => {
  const r = doctor('--json');
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const by = Object.fromEntries(out.checks.map((c: ProviderCheck) => [c.asked, c]));
  t.equal(by.cpu.ran, 'cpu');
  t.equal(by.cpu.timesMs.length, 5);
  for (const p of ['tensorrt', 'cuda']) {
    t.equal(by[p].ran, null, `${p} does not run`);
    t.match(by[p].reason, /failed to load: .*Failed to load shared library/);
  }
  t.same(out.verdict, { ok: true, problems: [] });
});

t.test('expecting tensorrt here fails loudly', async (t) => {
  const r = doctor('--expect', 'tensorrt');
  t.equal(r.status, 1);
  t.match(r.stdout, /FAILED \(expected "tensorrt"\):\n  - expected provider "tensorrt" does not run here: failed to load/);
});
