// Keeps one engine worker alive with the active model: a crash, a hang (inference timeout), a missed
// heartbeat, an error storm or a protocol error kills the worker, and a new one is started with
// backoff and the model reloaded.
import { EventEmitter } from 'node:events';
import { EngineWorker, type EngineOptions, type InferOutput } from './client.js';
import type { BuildingMsg, FacesBatchResultMsg, FacesOptions, FacesResultMsg, FrameFormat, LoadedMsg, ProviderRequest } from './protocol.js';
import { backoffMs } from '../sources/ffmpeg-args.js';
import { ErrorStorm } from '../budget.js';
import type { Logger } from '../log.js';
import type { EngineFrame, EngineState } from './engine.js';
import type { FramePixels } from './slots.js';

export interface EngineSupervisorOptions {
  manifestPath: string;
  /** manifestPath is a face detector, loaded alone (loadDetector): the detector half of a split layout (D112). */
  detectorOnly?: boolean;
  /** Face detector (task "detect") loaded beside the classifier, for cameras in faces mode. */
  detectorManifestPath?: string;
  executionProviders: (string | ProviderRequest)[];
  /** The detector's own provider list (its own engine cache keys); default: executionProviders. */
  detectorExecutionProviders?: (string | ProviderRequest)[];
  threads: number;
  inferTimeoutMs: number;
  restartMinMs: number;
  restartMaxMs: number;
  worker?: EngineOptions;
  /** Ping the idle worker this often; no pong within heartbeatTimeoutMs kills it. Absent = no heartbeat. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** errorStormCount engine errors within errorStormWindowMs kill the worker. Absent = off. */
  errorStormCount?: number;
  errorStormWindowMs?: number;
  /** A worker that ran this long resets the backoff (default 30000). */
  healthyResetMs?: number;
}

export type { EngineState } from './engine.js';

export type { EngineBuild } from './engine.js';
import type { EngineBuild } from './engine.js';
import { monoMs } from '../clock.js';

/** Events: 'ready' (LoadedMsg), 'down' (reason), 'building' (EngineBuild). */
export class EngineSupervisor extends EventEmitter {
  private worker: EngineWorker | null = null;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  state: EngineState = 'stopped';
  restarts = 0;
  lastError: string | null = null;
  loaded: LoadedMsg | null = null;
  detectorLoaded: LoadedMsg | null = null;
  /** Set while the state is 'building'. */
  building: EngineBuild | null = null;
  /** Engine errors answered by the worker (bad requests, failed inferences). */
  errors = 0;
  private busy = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private storm: ErrorStorm | null = null;
  private killedFor: string | null = null;

  constructor(
    private readonly opts: EngineSupervisorOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Requests in flight on this worker. */
  get inFlight(): number {
    return this.busy;
  }

  /** Workers behind this engine (one; see EnginePool). */
  get size(): number {
    return 1;
  }

  get pid(): number | undefined {
    return this.worker?.pid;
  }

  /** Start the first worker and load the model; rejects if that first load fails (bad model = config error). */
  async start(): Promise<LoadedMsg> {
    this.stopping = false;
    const o = this.opts;
    if (o.errorStormCount && o.errorStormWindowMs) this.storm = new ErrorStorm(o.errorStormCount, o.errorStormWindowMs);
    if (o.heartbeatMs && !this.heartbeat) {
      this.heartbeat = setInterval(() => this.beat(), o.heartbeatMs);
      this.heartbeat.unref();
    }
    return this.spawnAndLoad(true);
  }

  infer(rgb: FramePixels, width: number, height: number): Promise<InferOutput> {
    return this.call('inference', (w) => w.infer(rgb, width, height));
  }

  faces(data: FramePixels, width: number, height: number, options: FacesOptions, format?: FrameFormat): Promise<FacesResultMsg> {
    return this.call('faces request', (w) => w.faces(data, width, height, options, format));
  }

  facesBatch(frames: EngineFrame[], options: FacesOptions): Promise<FacesBatchResultMsg> {
    return this.call('faces batch', (w) => w.facesBatch(frames, options));
  }

  /** One request to the ready worker: timeouts kill it, answered errors count towards an error storm. */
  private async call<T>(what: string, fn: (w: EngineWorker) => Promise<T>): Promise<T> {
    const w = this.worker;
    if (!w || this.state !== 'ready') throw new Error('engine not ready');
    this.busy++;
    try {
      return await fn(w);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'TIMEOUT') this.fail(w, `${what} took longer than ${this.opts.inferTimeoutMs} ms`);
      else if (code !== 'WORKER_EXITED') {
        // The worker answered with an error: counted; a storm of them means it is broken.
        this.errors++;
        this.lastError = (e as Error).message;
        if (this.storm?.record(monoMs())) {
          this.storm.reset();
          this.fail(w, `error storm: ${this.opts.errorStormCount} engine errors within ${this.opts.errorStormWindowMs} ms (last: ${(e as Error).message})`);
        }
      }
      throw e;
    } finally {
      this.busy--;
    }
  }

  /** Heartbeat: an idle, ready worker must answer a ping in time (a busy one is covered by the inference timeout). */
  private beat(): void {
    const w = this.worker;
    if (!w || this.state !== 'ready' || this.busy > 0 || this.stopping) return;
    const timeoutMs = this.opts.heartbeatTimeoutMs ?? 5000;
    w.ping(timeoutMs).catch((e) => {
      if ((e as { code?: string }).code === 'TIMEOUT') this.fail(w, `missed heartbeat: no pong within ${timeoutMs} ms`);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.state = 'stopped';
    await this.worker?.stop(2000);
    this.worker = null;
  }

  private async spawnAndLoad(initial = false): Promise<LoadedMsg> {
    this.state = this.restarts ? 'restarting' : 'starting';
    const w = new EngineWorker({
      inferTimeoutMs: this.opts.inferTimeoutMs,
      onStderr: (line) => this.log.warn('engine stderr', { line }),
      ...this.opts.worker,
    });
    this.worker = w;
    w.on('exit', (code: number | null, signal: string | null) => this.onExit(w, signal ? `engine worker killed by ${signal}` : `engine worker exited with code ${code}`));
    w.on('protocol-error', (e: Error) => this.fail(w, e.message));
    w.on('building', (b: BuildingMsg) => {
      if (this.worker !== w) return;
      this.state = 'building';
      this.building = { model: b.model, provider: b.provider, reason: b.reason, since: monoMs(), firstStart: initial && !this.loaded };
      this.log.warn('building an engine (this takes minutes the first time; the load timeout is now the build timeout)', { model: b.model, provider: b.provider, reason: b.reason });
      this.emit('building', this.building);
    });
    try {
      await w.start();
      const loaded = this.opts.detectorOnly
        ? await w.loadDetector(this.opts.manifestPath, this.opts.executionProviders, this.opts.threads)
        : await w.load(this.opts.manifestPath, this.opts.executionProviders, this.opts.threads);
      if (this.opts.detectorOnly) this.detectorLoaded = loaded;
      if (this.opts.detectorManifestPath) {
        this.detectorLoaded = await w.loadDetector(this.opts.detectorManifestPath, this.opts.detectorExecutionProviders ?? this.opts.executionProviders, this.opts.threads);
        this.log.info('face detector ready', { model: this.detectorLoaded.model, provider: this.detectorLoaded.provider, loadMs: Math.round(this.detectorLoaded.loadMs) });
      }
      if (this.worker !== w) throw new Error('engine worker replaced during load');
      this.loaded = loaded;
      this.building = null;
      this.state = 'ready';
      if (loaded.fallbacks.length) this.log.warn('execution provider fallback', { provider: loaded.provider, fallbacks: loaded.fallbacks });
      for (const warning of loaded.warnings ?? []) this.log.warn('execution provider warning', { provider: loaded.provider, warning });
      this.log.info('engine ready', { pid: w.pid, provider: loaded.provider, model: loaded.model, loadMs: Math.round(loaded.loadMs), warmupMs: Math.round(loaded.warmupMs) });
      this.emit('ready', loaded);
      return loaded;
    } catch (e) {
      this.lastError = (e as Error).message;
      this.building = null;
      if ((this.state as EngineState) === 'building') this.state = this.restarts ? 'restarting' : 'starting';
      // On the first start the caller gets the error; later, the exit handler retries with backoff.
      if (initial && this.worker === w) this.worker = null;
      w.kill('SIGKILL');
      throw e;
    }
  }

  private fail(w: EngineWorker, reason: string): void {
    if (this.worker !== w) return;
    this.lastError = reason;
    this.killedFor = reason;
    this.log.error('engine failed, killing worker', { reason, pid: w.pid });
    w.kill('SIGKILL'); // the exit handler schedules the restart
  }

  private onExit(w: EngineWorker, exitReason: string): void {
    if (this.worker !== w || this.stopping) return;
    // A worker we killed reports why we killed it (heartbeat, storm, timeout), not just "SIGKILL".
    const reason = this.killedFor ? `${this.killedFor} (${exitReason})` : exitReason;
    this.killedFor = null;
    this.worker = null;
    const wasReady = this.state === 'ready';
    this.lastError = this.lastError && !wasReady ? this.lastError : reason;
    this.state = 'restarting';
    this.emit('down', reason);
    const delay = backoffMs(this.attempt++, this.opts.restartMinMs, this.opts.restartMaxMs);
    this.restarts++;
    this.log.warn('engine down, restarting', { reason, delayMs: delay, restarts: this.restarts });
    this.timer = setTimeout(() => {
      this.spawnAndLoad().then(
        () => {
          // A successful load after a crash resets the backoff only once the worker has run a while.
          setTimeout(() => {
            if (this.worker && this.state === 'ready') this.attempt = 0;
          }, this.opts.healthyResetMs ?? 30000).unref();
        },
        (e) => this.log.error('engine restart failed', { err: (e as Error).message }),
      );
    }, delay);
  }
}
