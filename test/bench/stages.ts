// Stage costs in isolation: ffmpeg decoding the clip to I420 alone (ffmpeg -benchmark), the detector's
// session.run alone, the classifier's session.run alone (batch 1..8), and, for reference, the worker's
// resize + colour conversion of a 720p I420 frame to the detector's tensor (pre/yuv-tensor-wasm.ts; not in the goal's sum), and that
// conversion + the detector paced at 10 fps (the machine's own latency tail for the work). CPU ms from
// the process's own accounting, wall ms medians.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { frameBytes } from '../../pipelines/pre/yuv.js';
import { I420TensorConverter } from '../../pipelines/pre/yuv-tensor-wasm.js';
import { videoFilter } from '../../pipelines/sources/ffmpeg-args.js';
import { percentile } from './stats.js';
import { benchModels } from './models.js';
import { NO_SPIN } from '../../pipelines/engines/onnxruntime/session.js';
import { workerEnv } from '../../pipelines/engines/worker-env.js';

const execFileP = promisify(execFile);

export interface StageCost {
  /** CPU ms per frame (or per run), all threads. */
  cpuMs: number;
  /** Wall ms per frame (median for session.run). */
  wallMs: number;
}

export interface Stages {
  decode: StageCost & { frames: number };
  detector: StageCost;
  classifier: StageCost;
  /** Classifier batch of N: cost per frame at each N. */
  classifierBatch: Record<string, StageCost>;
  detectorInput: StageCost;
  /** The detector's name and input size, e.g. "ultraface-masked-rfb-640 640x480". */
  detectorName: string;
  /** The classifier's input size, e.g. "160x160". */
  classifierSize: string;
  /**
   * The worker's per-frame work (detector input + detector run) alone in this process, paced at 10 frames
   * a second like a camera: wall ms p50 / p99 over `frames`. The tail this machine gives that work with
   * no pipeline around it (a paced run idles between frames and wakes slower than a back-to-back one).
   */
  paced: { frames: number; p50: number; p99: number };
  /**
   * The same, in the same minutes, with the CPU kept busy between frames instead of idle (D156): what
   * the tail is when waking an idle CPU costs nothing. Absent in results from before round 14.
   */
  pacedAwake?: { frames: number; p50: number; p99: number };
}

export async function decodeCost(clip: string, seconds: number, width: number, height: number, fps: number): Promise<StageCost & { frames: number }> {
  const { stderr } = await execFileP('/usr/bin/ffmpeg', [
    // the daemon's faces-mode chain: the decoder's I420 at the camera's size (D30)
    '-hide_banner', '-nostdin', '-benchmark', '-t', String(seconds), '-i', clip, '-an',
    '-vf', videoFilter({ fps, width, height, format: 'i420' }), '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-y', '/dev/null',
  ], { maxBuffer: 1 << 24 });
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(stderr);
  const fr = [...stderr.matchAll(/frame=\s*(\d+)/g)].pop();
  if (!m || !fr) throw new Error(`ffmpeg -benchmark output not understood:\n${stderr.slice(-500)}`);
  const frames = Number(fr[1]);
  return { frames, cpuMs: ((Number(m[1]) + Number(m[2])) * 1000) / frames, wallMs: (Number(m[3]) * 1000) / frames };
}

async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<StageCost> {
  for (let i = 0; i < 5; i++) await fn();
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    walls.push(performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000 / runs, wallMs: percentile(walls, 50) };
}

/** In a child process with the engine worker's environment (stages-main.ts, D157). */
async function asWorker(args: string[]): Promise<unknown> {
  const entry = fileURLToPath(new URL('./stages-main.js', import.meta.url));
  const { stdout } = await execFileP(process.execPath, [entry, ...args], { env: workerEnv(process.env), maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

/** sessionCosts as the engine worker runs them. */
export async function sessionCostsAsWorker(root: string, runs: number): Promise<Omit<Stages, 'decode'>> {
  return (await asWorker([root, String(runs)])) as Omit<Stages, 'decode'>;
}

/** The stage sum alone (CPU ms a frame: decode, detector, classifier batch 1), measured again beside a step. */
export interface StageSum {
  decode: number;
  detector: number;
  classifier: number;
  sum: number;
}

/** The stage sum again, without the paced runs (seconds, not a minute): decode here, the sessions as the worker runs them. */
export async function stageSum(root: string, clip: string, runs: number): Promise<StageSum> {
  const d = await decodeCost(clip, 40, 1280, 720, 10);
  const s = (await asWorker([root, String(runs), 'sum'])) as { detector: StageCost; classifier: StageCost };
  return { decode: d.cpuMs, detector: s.detector.cpuMs, classifier: s.classifier.cpuMs, sum: d.cpuMs + s.detector.cpuMs + s.classifier.cpuMs };
}

// As the daemon opens them: spinning off (D19), one intra-op thread (engine.threads default, D21).
const SESSION_OPTIONS = { logSeverityLevel: 3 as const, graphOptimizationLevel: 'all' as const, extra: NO_SPIN, intraOpNumThreads: 1 };
const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** The bench's two sessions, opened as the daemon opens them, and a random detector input. */
async function openSessions(root: string) {
  const m = benchModels(root);
  const det = await ort.InferenceSession.create(m.detector.file, SESSION_OPTIONS);
  const cls = await ort.InferenceSession.create(m.classifier.file, SESSION_OPTIONS);
  const { width: dw, height: dh } = m.detector;
  return { m, det, cls, dw, dh, dIn: new ort.Tensor('float32', rnd(3 * dh * dw), [1, 3, dh, dw]) };
}

type Sessions = Awaited<ReturnType<typeof openSessions>>;

/** The detector's session.run alone. */
const detectorCost = ({ det, dIn }: Sessions, runs: number) => timeRuns(runs, () => det.run({ [det.inputNames[0]]: dIn }));

/** The classifier's session.run alone at batch `b`, per frame. */
async function classifierCost({ m, cls }: Sessions, b: number, runs: number): Promise<StageCost> {
  const cs = m.classifier.size;
  const t = new ort.Tensor('float32', rnd(b * 3 * cs * cs), [b, 3, cs, cs]);
  const c = await timeRuns(runs, () => cls.run({ [cls.inputNames[0]]: t }, ['logits']));
  return { cpuMs: c.cpuMs / b, wallMs: c.wallMs / b };
}

/** The detector's and the classifier's (batch 1) session.run alone. */
export async function runCosts(root: string, runs: number): Promise<{ detector: StageCost; classifier: StageCost }> {
  const o = await openSessions(root);
  const detector = await detectorCost(o, runs);
  const classifier = await classifierCost(o, 1, runs);
  await o.det.release();
  await o.cls.release();
  return { detector, classifier };
}

export async function sessionCosts(root: string, runs: number): Promise<Omit<Stages, 'decode'>> {
  const o = await openSessions(root);
  const { m, det, cls, dw, dh } = o;
  const detector = await detectorCost(o, runs);
  const classifierBatch: Record<string, StageCost> = {};
  for (const b of [1, 2, 4, 8]) classifierBatch[b] = await classifierCost(o, b, runs);
  const frame = Buffer.alloc(frameBytes('i420', 1280, 720), 90);
  // as the worker makes it (D97, D149): one pass from the planes into the converter's reused tensor
  const conv = new I420TensorConverter();
  const spec = { layout: 'NCHW' as const, colorOrder: 'RGB' as const, scale: 1, mean: [127, 127, 127] as [number, number, number], std: [128, 128, 128] as [number, number, number] };
  const target = { width: dw, height: dh, fit: 'stretch' as const, padColor: [0, 0, 0] as const };
  const detectorInput = await timeRuns(runs, async () => conv.convert(frame, 1280, 720, target, spec));
  // Paced twice, in alternating 6 s blocks so both see the same minutes of the machine: idle between
  // frames (as a camera paces the daemon), and with this thread busy-waiting instead, so the CPU never
  // idles (a diagnostic of the machine, not something the daemon does: D19, D156). Frame by frame
  // alternation does not separate the two: half the time busy keeps the CPU as warm as all the time.
  const pacedFrames = Math.max(50, runs * 3);
  const block = 60;
  const busy = (i: number) => Math.floor(i / block) % 2 === 1;
  const idle: number[] = [];
  const awake: number[] = [];
  for (let i = 0; i < 2 * pacedFrames + 2 * block; i++) {
    const t = performance.now();
    const x = conv.convert(frame, 1280, 720, target, spec);
    await det.run({ [det.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, dh, dw]) });
    const wall = performance.now() - t;
    // the first frames of a block still feel the previous one
    if (i % block >= 3) (busy(i) ? awake : idle).push(wall);
    const next = t + 100;
    if (busy(i + 1)) while (performance.now() < next);
    else await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const tail = (w: number[]) => ({ frames: w.length, p50: r1(percentile(w, 50)), p99: r1(percentile(w, 99)) });
  const paced = tail(idle);
  const pacedAwake = tail(awake);
  await det.release();
  await cls.release();
  return { detector, classifier: classifierBatch[1], classifierBatch, detectorInput, paced, pacedAwake, detectorName: `${basename(m.detector.file, '.onnx')} ${dw}x${dh}`, classifierSize: `${m.classifier.size}x${m.classifier.size}` };
}
