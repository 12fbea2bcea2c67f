// `npm run bench -- --dashboard [--cameras 4] [--seconds 15] [--rounds 3]`: does the dashboard cost
// anything while nobody has it open? The same daemon on N cameras (the 720p clip, faces mode) in three
// variants, interleaved round by round so that drift in the machine's load hits all of them alike:
//   http-off     http.port 0: no HTTP server, no dashboard (the daemon as before the dashboard)
//   page-closed  the HTTP server with the dashboard, nobody connected
//   page-open    the same with one client reading /api/stream (what an open page costs, for reference)
// CPU per result counts the daemon's own processes (supervisor, engine workers, ffmpeg), not the
// RTSP server, the broker or the client.
import { request } from 'node:http';
import { freePort } from '../helpers/ports.js';
import { percentile } from './stats.js';
import { measure, type Infra, type RunResult } from './systems.js';

export type DashboardVariant = 'http-off' | 'page-closed' | 'page-open';
export const DASHBOARD_VARIANTS: readonly DashboardVariant[] = ['http-off', 'page-closed', 'page-open'];

export interface DashboardBench {
  cameras: number;
  rounds: number;
  runs: (RunResult & { variant: DashboardVariant; streamBytes?: number })[];
  /** Median CPU ms per result of each variant. */
  median: Record<DashboardVariant, number>;
}

/** One stream client on /api/stream that reads and discards; resolves with its stop function. */
function viewer(port: number, counter: { bytes: number }): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/stream' }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`/api/stream answered ${res.statusCode}`));
      res.on('data', (c: Buffer) => (counter.bytes += c.length));
      resolve(() => req.destroy());
    });
    req.on('error', reject);
    req.end();
  });
}

export async function dashboardBench(o: { infra: Infra; cameras: number; fps: number; seconds: number; settle: number; rounds: number; log: (s: string) => void }): Promise<DashboardBench> {
  const runs: DashboardBench['runs'] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const variant of DASHBOARD_VARIANTS) {
      o.log(`dashboard ${variant} x${o.cameras}, round ${round}/${o.rounds} (${o.seconds} s)`);
      const port = variant === 'http-off' ? 0 : await freePort();
      const counter = { bytes: 0 };
      const r = await measure('daemon', o.infra, o.cameras, o.fps, o.seconds, o.settle, {
        config: { http: { port } },
        ...(variant === 'page-open' ? { during: () => viewer(port, counter) } : {}),
      });
      runs.push({ ...r, variant, ...(variant === 'page-open' ? { streamBytes: counter.bytes } : {}) });
      o.log(`  ${r.cpuMsPerFrame.system} ms CPU/result, ${r.resultsPerSec} results/s, load ${r.load}`);
    }
  }
  const median = Object.fromEntries(DASHBOARD_VARIANTS.map((v) => [v, percentile(runs.filter((r) => r.variant === v).map((r) => r.cpuMsPerFrame.system), 50)])) as Record<DashboardVariant, number>;
  return { cameras: o.cameras, rounds: o.rounds, runs, median };
}

/** The Markdown block for docs/BENCHMARKS.md. */
export function dashboardReport(r: DashboardBench & { date: string; machine: string; command: string; load: { start: string; end: string } }): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  const L: string[] = [];
  L.push(`### ${r.date.slice(0, 16).replace('T', ' ')} UTC — \`${r.command}\` (dashboard closed / open)`, '');
  L.push(`Machine: ${r.machine}. Load average (1/5/15 min) at start ${r.load.start}, at end ${r.load.end}. ${r.cameras} cameras, 720p clip, faces mode, ${r.rounds} rounds of the three variants interleaved.`, '');
  L.push('| variant | round | results/s | dropped | CPU ms/result (daemon) | CPU ms by process | stream bytes/s | load 1/5/15 |', '|---|---:|---:|---:|---:|---|---:|---|');
  const perVariant = new Map<DashboardVariant, number>();
  for (const x of r.runs) {
    const round = (perVariant.get(x.variant) ?? 0) + 1;
    perVariant.set(x.variant, round);
    const cpu = Object.entries(x.usage.cpuMs).map(([k, v]) => `${k} ${v}`).join(', ');
    L.push(`| ${x.variant} | ${round} | ${f(x.resultsPerSec, 1)} | ${f(x.dropRate * 100, 1)} % | ${f(x.cpuMsPerFrame.system)} | ${cpu} | ${x.streamBytes !== undefined ? Math.round(x.streamBytes / x.seconds) : '–'} | ${x.load} |`);
  }
  const off = r.runs.filter((x) => x.variant === 'http-off').map((x) => x.cpuMsPerFrame.system);
  const spread = Math.max(...off) - Math.min(...off);
  const d = r.median['page-closed'] - r.median['http-off'];
  L.push('', `Median CPU ms per result: http-off ${f(r.median['http-off'])}, page-closed ${f(r.median['page-closed'])} (${d >= 0 ? '+' : ''}${f(d)}; run-to-run spread of http-off ${f(spread)}), page-open ${f(r.median['page-open'])}.`, '');
  L.push('| goal | measured | verdict |', '|---|---|---|');
  L.push(`| with the page closed, CPU per frame unchanged | page-closed − http-off = ${d >= 0 ? '+' : ''}${f(d)} ms (spread of http-off across rounds ${f(spread)} ms) | ${r.rounds < 2 ? 'needs ≥ 2 rounds' : Math.abs(d) <= Math.max(spread, 0.05) ? 'met (within run-to-run spread)' : '**missed**'} |`);
  return L.join('\n') + '\n';
}
