// One measured run of a system on N cameras: the daemon (RTSP → ffmpeg → supervisor → engine worker
// → MQTT) or the Python peer (one cv2 loop per camera). A subscriber counts results per camera and
// measures capture→arrival latency; /proc gives CPU and peak RSS of every process involved.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { SUPERVISOR_NODE_FLAGS } from '../../daemon/node-flags.js';
import { benchModels, peerModelArgs } from './models.js';
import { ProcMonitor, type Usage } from './procmon.js';
import type { StageSum } from './stages.js';
import { dropRate, fairness, percentile } from './stats.js';

export interface Infra {
  root: string;
  rtspUrl: (cam: number) => string;
  rtspPid: number;
  mqttPort: number;
  brokerPid: number;
}

export interface RunResult {
  system: 'daemon' | 'peer';
  /** The stage sum measured again just before and after this step (the 12-camera goal's step, D162). */
  stageSum?: { before: StageSum; after: StageSum };
  /** Which clip the cameras stream (absent: the 1-face clip). */
  clip?: 'crowd';
  /** Faces per published result (the detector's count). */
  facesPerResult?: number;
  /** Daemon with motion gating on every camera (cameras[].motion.enabled). */
  motion?: boolean;
  /** Daemon batching frames across cameras (engine.batch), when on. */
  batch?: { maxFrames: number; waitMs: number };
  /** The variant's name, when the bench gave one (people bench). */
  label?: string;
  cameras: number;
  fps: number;
  seconds: number;
  results: number;
  resultsPerSec: number;
  dropRate: number;
  perCameraFps: number[];
  fairness: { min: number; max: number; ratio: number };
  latencyMs: { p50: number; p95: number; p99: number };
  /** Daemon: the engine worker's own time per result (inferMs), of which latencyMs is the whole; absent for the peer. */
  workerMs?: { p50: number; p99: number };
  /** Daemon: capture→publish as the daemon stamps it in each result (latencyMs, taken as it hands the result to MQTT); latencyMs adds the broker and this subscriber. */
  publishMs?: { p50: number; p95: number; p99: number };
  /** CPU ms per result: the system's own processes; + broker; the RTSP server (the "cameras") apart. */
  cpuMsPerFrame: { system: number; withBroker: number };
  usage: Usage;
  startupMs: number;
  load: string;
  /** Results marked reused (motion gating), and their share of all results. */
  reused?: number;
  reusedFraction?: number;
  /** Results carried by the tracks' prediction (predicted: true, the detection cadence, D96), and their share. */
  predicted?: number;
  predictedFraction?: number;
}

/** Options of one measured run. */
export interface MeasureOptions {
  /** Daemon only: merged into every camera of its config, e.g. { motion: { enabled: true } }. */
  camera?: Record<string, unknown>;
  /** Daemon only: engine.batch of its config (batching across cameras). */
  batch?: { maxFrames: number; waitMs: number };
  /** Daemon only: top-level sections merged into its config, e.g. { people: { enabled: false } }. */
  config?: Record<string, unknown>;
  /** A label for the run (variant name). */
  label?: string;
  /** Started once every camera publishes (before the settle time), stopped after the measurement (e.g. a dashboard viewer). */
  during?: () => Promise<() => void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Subscriber {
  counts = new Map<string, number>();
  lat: number[] = [];
  /** The daemon's inferMs of each result: the engine worker's own time on the frame (the rest of the latency is hops). */
  work: number[] = [];
  /** The daemon's latencyMs of each result: capture→publish in its own clock (arrival adds the broker and this subscriber). */
  pub: number[] = [];
  /** Results with reused: true (motion gating). */
  reused = 0;
  /** Results with predicted: true (carried by tracking between detections). */
  predicted = 0;
  /** Faces in the results (counts.faces of the daemon, the length of the peer's faces list). */
  faces = 0;
  private client!: mqtt.MqttClient;
  async start(port: number, topic: string): Promise<void> {
    this.client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-${process.pid}-${Date.now()}` });
    this.client.on('message', (_t, payload) => {
      const now = Date.now();
      try {
        const m = JSON.parse(payload.toString()) as { camera: string; ts: string; inferMs?: number; latencyMs?: number; reused?: boolean; predicted?: boolean; counts?: { faces: number }; faces?: unknown[] };
        this.counts.set(m.camera, (this.counts.get(m.camera) ?? 0) + 1);
        if (m.reused === true) this.reused++;
        if (m.predicted === true) this.predicted++;
        this.faces += m.counts?.faces ?? m.faces?.length ?? 0;
        this.lat.push(now - Date.parse(m.ts));
        if (typeof m.inferMs === 'number') this.work.push(m.inferMs);
        if (typeof m.latencyMs === 'number') this.pub.push(m.latencyMs);
      } catch {
        /* not a result */
      }
    });
    await this.client.subscribeAsync(topic, { qos: 0 });
  }
  reset(): void {
    this.counts.clear();
    this.lat = [];
    this.work = [];
    this.pub = [];
    this.reused = 0;
    this.predicted = 0;
    this.faces = 0;
  }
  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** The daemon's config file for N cameras; `camera` is merged into each camera (e.g. { motion: { enabled: true } }). */
export function daemonConfig(infra: Infra, n: number, fps: number, extra: Record<string, unknown> = {}, camera: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-daemon-'));
  const file = join(dir, 'config.json');
  const cameras = Array.from({ length: n }, (_, i) => ({ id: `cam${i + 1}`, url: infra.rtspUrl(i + 1), fps, mode: 'faces', ...camera }));
  writeFileSync(file, JSON.stringify({
    site: 'bench', deviceId: 'bench',
    mqtt: { url: `mqtt://127.0.0.1:${infra.mqttPort}`, qos: 0 },
    cameras,
    model: { path: join(infra.root, 'models/mask-mobilenet/model.json') },
    engine: { backend: 'onnxruntime', executionProviders: ['cpu'] },
    http: { port: 0 },
    log: { level: 'warn' },
    ...extra,
  }, null, 2));
  return file;
}

export function startDaemon(infra: Infra, n: number, fps: number, nodeArgs: string[] = [], camera: Record<string, unknown> = {}, batch?: { maxFrames: number; waitMs: number }, config: Record<string, unknown> = {}): ChildProcess {
  const file = daemonConfig(infra, n, fps, { ...(batch ? { engine: { backend: 'onnxruntime', executionProviders: ['cpu'], batch } } : {}), ...config }, camera);
  // as the systemd unit starts it (D161)
  const p = spawn(process.execPath, [...SUPERVISOR_NODE_FLAGS, ...nodeArgs, join(infra.root, 'dist/daemon/main.js'), '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr!.on('data', (c: Buffer) => process.env.BENCH_VERBOSE && process.stderr.write(`[daemon] ${c}`));
  return p;
}

function startPeers(infra: Infra, n: number): ChildProcess[] {
  const models = peerModelArgs(benchModels(infra.root));
  return Array.from({ length: n }, (_, i) => {
    const p = spawn('/usr/bin/python3', [
      join(infra.root, 'test/bench/peer/peer.py'), '--url', infra.rtspUrl(i + 1), '--camera', `cam${i + 1}`,
      '--mqtt-port', String(infra.mqttPort), '--prefix', 'peer',
      ...models,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.on('data', (c: Buffer) => process.env.BENCH_VERBOSE && process.stderr.write(`[peer${i + 1}] ${c}`));
    return p;
  });
}

export async function stopProcs(ps: ChildProcess[]): Promise<void> {
  await Promise.all(ps.map((p) => new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => p.kill('SIGKILL'), 4000);
    p.once('exit', () => (clearTimeout(t), resolve()));
    p.kill('SIGTERM');
  })));
}

export async function loadavg(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

/** p50 / p95 / p99 of a list of latencies (ms). */
const spread = (xs: readonly number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99) });

/** Wait until every camera has published, then measure for `seconds` after `settleSec`. */
export async function measure(system: 'daemon' | 'peer', infra: Infra, n: number, fps: number, seconds: number, settleSec: number, opts: MeasureOptions = {}): Promise<RunResult> {
  const sub = new Subscriber();
  await sub.start(infra.mqttPort, system === 'daemon' ? 'bench/+/mask' : 'peer/+/mask');
  const t0 = Date.now();
  const procs = system === 'daemon' ? [startDaemon(infra, n, fps, [], opts.camera, opts.batch, opts.config)] : startPeers(infra, n);
  let stopDuring: (() => void) | null = null;
  try {
    while (sub.counts.size < n) {
      if (Date.now() - t0 > 60_000) throw new Error(`${system} x${n}: only ${sub.counts.size} cameras published within 60 s`);
      if (procs.some((p) => p.exitCode !== null)) throw new Error(`${system} x${n}: a process exited early`);
      await sleep(100);
    }
    const startupMs = Date.now() - t0;
    if (opts.during) stopDuring = await opts.during();
    await sleep(settleSec * 1000);
    const classify = (role: string) => (p: { comm: string }, isRoot: boolean) => (isRoot ? role : p.comm === 'node' ? 'engine' : p.comm);
    const mon = new ProcMonitor([
      ...procs.map((p) => ({ pid: p.pid!, classify: classify(system === 'daemon' ? 'supervisor' : 'peer') })),
      { pid: infra.brokerPid, classify: () => 'broker' },
      { pid: infra.rtspPid, classify: () => 'rtsp-server' },
    ]);
    sub.reset();
    await mon.begin();
    const w0 = Date.now();
    while (Date.now() - w0 < seconds * 1000) {
      await sleep(1000);
      mon.sample();
    }
    const usage = await mon.end();
    const secs = (Date.now() - w0) / 1000;
    const perCam = Array.from({ length: n }, (_, i) => (sub.counts.get(`cam${i + 1}`) ?? 0) / secs);
    const results = [...sub.counts.values()].reduce((a, b) => a + b, 0);
    const own = Object.entries(usage.cpuMs).filter(([r]) => r !== 'broker' && r !== 'rtsp-server').reduce((a, [, v]) => a + v, 0);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const motion = system === 'daemon' && (opts.camera?.motion as { enabled?: boolean } | undefined)?.enabled === true;
    return {
      system, ...(opts.label ? { label: opts.label } : {}), ...(motion ? { motion } : {}), ...(system === 'daemon' && opts.batch ? { batch: opts.batch } : {}), cameras: n, fps, seconds: r2(secs), results,
      resultsPerSec: r2(results / secs),
      dropRate: Math.round(dropRate(results, n, fps, secs) * 1e4) / 1e4,
      perCameraFps: perCam.map(r2),
      fairness: (({ min, max, ratio }) => ({ min: r2(min), max: r2(max), ratio: r2(ratio) }))(fairness(perCam)),
      latencyMs: spread(sub.lat),
      ...(sub.work.length ? { workerMs: { p50: percentile(sub.work, 50), p99: percentile(sub.work, 99) } } : {}),
      ...(sub.pub.length ? { publishMs: spread(sub.pub) } : {}),
      cpuMsPerFrame: { system: r2(own / Math.max(1, results)), withBroker: r2((own + (usage.cpuMs.broker ?? 0)) / Math.max(1, results)) },
      usage: { ...usage, cpuMs: Object.fromEntries(Object.entries(usage.cpuMs).map(([k, v]) => [k, Math.round(v)])) },
      startupMs,
      facesPerResult: r2(sub.faces / Math.max(1, results)),
      load: await loadavg(),
      ...(system === 'daemon' ? { reused: sub.reused, reusedFraction: Math.round((sub.reused / Math.max(1, results)) * 1000) / 1000, predicted: sub.predicted, predictedFraction: Math.round((sub.predicted / Math.max(1, results)) * 1000) / 1000 } : {}),
    };
  } finally {
    stopDuring?.();
    await stopProcs(procs);
    await sub.stop();
  }
}
