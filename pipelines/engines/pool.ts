// Several engine workers behind one engine: each is an EngineSupervisor (its own process, restarts,
// heartbeat, error storms), and a request goes to the ready worker with the fewest in flight.
// onnxruntime-node runs a session synchronously on its process's main thread, so one worker is one
// inference at a time: with one worker the frames of every camera queue behind each other while the
// other cores decode. The pipeline keeps up to `size` frames in flight (docs/DECISIONS.md D25).
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { InferOutput } from './client.js';
import type { FramePixels } from './slots.js';
import type { FacesBatchResultMsg, FacesOptions, FacesResultMsg, FrameFormat, LoadedMsg } from './protocol.js';
import type { EngineSupervisor } from './supervisor.js';
import type { Engine, EngineBuild, EngineFrame, EngineState } from './engine.js';

export type { Engine } from './engine.js';

const STATE_ORDER: EngineState[] = ['stopped', 'restarting', 'building', 'starting', 'ready'];

/** Events: 'ready' (LoadedMsg) when any worker becomes ready, 'down' (reason) when any goes down, 'building' (EngineBuild). */
export class EnginePool extends EventEmitter implements Engine {
  constructor(readonly members: readonly EngineSupervisor[]) {
    super();
    if (!members.length) throw new RangeError('an engine pool needs at least one worker');
    for (const m of members) {
      m.on('ready', (l: LoadedMsg) => this.emit('ready', l));
      m.on('down', (reason: string) => this.emit('down', reason));
      m.on('building', (b: EngineBuild) => this.emit('building', b));
    }
  }

  get size(): number {
    return this.members.length;
  }

  /** Serving while any worker is ready. */
  get ready(): boolean {
    return this.members.some((m) => m.ready);
  }

  /** The worst state of the workers ('ready' only when all are). */
  get state(): EngineState {
    return this.members.map((m) => m.state).sort((a, b) => STATE_ORDER.indexOf(a) - STATE_ORDER.indexOf(b))[0];
  }

  get restarts(): number {
    return this.members.reduce((n, m) => n + m.restarts, 0);
  }

  get errors(): number {
    return this.members.reduce((n, m) => n + m.errors, 0);
  }

  get lastError(): string | null {
    return this.members.map((m) => m.lastError).find((e) => e !== null) ?? null;
  }

  /** The first worker's process id (every worker's: pids). */
  get pid(): number | undefined {
    return this.members[0].pid;
  }

  get pids(): (number | undefined)[] {
    return this.members.map((m) => m.pid);
  }

  get loaded(): LoadedMsg | null {
    return (this.members.find((m) => m.ready) ?? this.members[0]).loaded;
  }

  get detectorLoaded(): LoadedMsg | null {
    return (this.members.find((m) => m.ready) ?? this.members[0]).detectorLoaded;
  }

  get building(): EngineBuild | null {
    return this.members.find((m) => m.building)?.building ?? null;
  }

  /** Start every worker (in parallel); rejects if any first load fails, stopping the others. */
  async start(): Promise<LoadedMsg> {
    const started = await Promise.allSettled(this.members.map((m) => m.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
    return (started[0] as PromiseFulfilledResult<LoadedMsg>).value;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  /** The ready worker with the fewest requests in flight (the first on a tie). */
  private pick(): EngineSupervisor {
    let best: EngineSupervisor | null = null;
    for (const m of this.members) if (m.ready && (!best || m.inFlight < best.inFlight)) best = m;
    if (!best) throw new Error('engine not ready');
    return best;
  }

  infer(rgb: FramePixels, width: number, height: number): Promise<InferOutput> {
    return this.pick().infer(rgb, width, height);
  }

  faces(data: FramePixels, width: number, height: number, options: FacesOptions, format?: FrameFormat): Promise<FacesResultMsg> {
    return this.pick().faces(data, width, height, options, format);
  }

  facesBatch(frames: EngineFrame[], options: FacesOptions): Promise<FacesBatchResultMsg> {
    return this.pick().facesBatch(frames, options);
  }
}

type EngineChoice = { backend: string; executionProviders: readonly (string | { name: string })[] };

/** The frames run on the CPU provider: not the Edge TPU, and neither CUDA nor TensorRT first. */
function onCpu(e: EngineChoice): boolean {
  const first = e.executionProviders[0];
  const name = typeof first === 'string' ? first : first?.name;
  return !(e.backend === 'edgetpu' || name === 'cuda' || name === 'tensorrt');
}

/**
 * engine.workers, resolved: a number as given; 0 (auto) is one worker per core up to 4 on the CPU
 * provider, and 1 for the Edge TPU (one process owns the device) or when CUDA / TensorRT comes first
 * (one GPU context serves the frames; more would only hold more GPU memory).
 */
export function engineWorkers(e: EngineChoice & { workers: number }, cores = availableParallelism()): number {
  if (e.workers > 0) return e.workers;
  if (!onCpu(e)) return 1;
  return Math.max(1, Math.min(4, cores));
}

/** engine.batch.maxFrames 0 (auto) on the CPU provider: frames already waiting go together, up to this many. */
export const AUTO_BATCH_FRAMES = 4;

/**
 * engine.batch.maxFrames, resolved: a number as given; 0 (auto) is AUTO_BATCH_FRAMES on the CPU provider
 * and 1 (no batching) for the Edge TPU or when CUDA / TensorRT comes first, where it was not measured
 * (docs/DECISIONS.md D148).
 */
export function engineBatchFrames(e: EngineChoice & { batch: { maxFrames: number } }): number {
  if (e.batch.maxFrames > 0) return e.batch.maxFrames;
  return onCpu(e) ? AUTO_BATCH_FRAMES : 1;
}
