// Keeps one engine worker alive with the active model: a crash, a hang (inference timeout) or a
// protocol error kills the worker, and a new one is started with backoff and the model reloaded.
import { EventEmitter } from 'node:events';
import { EngineWorker, type EngineOptions, type InferOutput } from '../pipelines/engines/client.js';
import type { FacesOptions, FacesResultMsg, LoadedMsg, ProviderRequest } from '../pipelines/engines/protocol.js';
import { backoffMs } from '../pipelines/sources/ffmpeg-args.js';
import type { Logger } from './log.js';

export interface EngineSupervisorOptions {
  manifestPath: string;
  /** Face detector (task "detect") loaded beside the classifier, for cameras in faces mode. */
  detectorManifestPath?: string;
  executionProviders: (string | ProviderRequest)[];
  threads: number;
  inferTimeoutMs: number;
  restartMinMs: number;
  restartMaxMs: number;
  worker?: EngineOptions;
}

export type EngineState = 'starting' | 'ready' | 'restarting' | 'stopped';

/** Events: 'ready' (LoadedMsg), 'down' (reason). */
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

  constructor(
    private readonly opts: EngineSupervisorOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  get pid(): number | undefined {
    return this.worker?.pid;
  }

  /** Start the first worker and load the model; rejects if that first load fails (bad model = config error). */
  async start(): Promise<LoadedMsg> {
    this.stopping = false;
    return this.spawnAndLoad(true);
  }

  async infer(rgb: Buffer, width: number, height: number): Promise<InferOutput> {
    const w = this.worker;
    if (!w || this.state !== 'ready') throw new Error('engine not ready');
    try {
      return await w.infer(rgb, width, height);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'TIMEOUT') this.fail(w, `inference took longer than ${this.opts.inferTimeoutMs} ms`);
      throw e;
    }
  }

  async faces(rgb: Buffer, width: number, height: number, options: FacesOptions): Promise<FacesResultMsg> {
    const w = this.worker;
    if (!w || this.state !== 'ready') throw new Error('engine not ready');
    try {
      return await w.faces(rgb, width, height, options);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'TIMEOUT') this.fail(w, `faces request took longer than ${this.opts.inferTimeoutMs} ms`);
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
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
    try {
      await w.start();
      const loaded = await w.load(this.opts.manifestPath, this.opts.executionProviders, this.opts.threads);
      if (this.opts.detectorManifestPath) {
        this.detectorLoaded = await w.loadDetector(this.opts.detectorManifestPath, this.opts.executionProviders, this.opts.threads);
        this.log.info('face detector ready', { model: this.detectorLoaded.model, provider: this.detectorLoaded.provider, loadMs: Math.round(this.detectorLoaded.loadMs) });
      }
      if (this.worker !== w) throw new Error('engine worker replaced during load');
      this.loaded = loaded;
      this.state = 'ready';
      if (loaded.fallbacks.length) this.log.warn('execution provider fallback', { provider: loaded.provider, fallbacks: loaded.fallbacks });
      for (const warning of loaded.warnings ?? []) this.log.warn('execution provider warning', { provider: loaded.provider, warning });
      this.log.info('engine ready', { pid: w.pid, provider: loaded.provider, model: loaded.model, loadMs: Math.round(loaded.loadMs), warmupMs: Math.round(loaded.warmupMs) });
      this.emit('ready', loaded);
      return loaded;
    } catch (e) {
      this.lastError = (e as Error).message;
      // On the first start the caller gets the error; later, the exit handler retries with backoff.
      if (initial && this.worker === w) this.worker = null;
      w.kill('SIGKILL');
      throw e;
    }
  }

  private fail(w: EngineWorker, reason: string): void {
    if (this.worker !== w) return;
    this.lastError = reason;
    this.log.error('engine failed, killing worker', { reason, pid: w.pid });
    w.kill('SIGKILL'); // the exit handler schedules the restart
  }

  private onExit(w: EngineWorker, reason: string): void {
    if (this.worker !== w || this.stopping) return;
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
          }, 30000).unref();
        },
        (e) => this.log.error('engine restart failed', { err: (e as Error).message }),
      );
    }, delay);
  }
}
