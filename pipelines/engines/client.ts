// Supervisor side of the engine protocol: spawn a worker child process and talk to it.
// This module never loads onnxruntime: native code lives only in the worker.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { extname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  encode,
  encodeParts,
  FrameDecoder,
  PROTOCOL_VERSION,
  unpackOutputs,
  type BuildingMsg,
  type ErrorMsg,
  type FacesBatchResultMsg,
  type FacesOptions,
  type FacesTracking,
  type FacesResultMsg,
  type FrameFormat,
  type HelloMsg,
  type LoadedMsg,
  type Message,
  type ProviderRequest,
  type ResultMsg,
} from './protocol.js';
import { CodedError } from '../../models/coded-error.js';
import { isSlot, readSlot, type FramePixels, type SlotRef } from './slots.js';
import { workerEnv } from './worker-env.js';

export interface EngineOptions {
  /** Command that starts the worker; default: this Node running the onnxruntime worker. */
  command?: string[];
  /** How long to wait for the worker's hello / a model load / one inference. */
  helloTimeoutMs?: number;
  loadTimeoutMs?: number;
  /** How long a load may take once the worker said it builds an engine (`building`); default 1 hour. */
  buildTimeoutMs?: number;
  inferTimeoutMs?: number;
  /** The worker's environment (default: this process's); the malloc settings of worker-env.ts are added. */
  env?: NodeJS.ProcessEnv;
  /** Where the worker's stderr lines go. */
  onStderr?: (line: string) => void;
}

export interface InferOutput {
  outputs: Map<string, { dims: number[]; data: Float32Array }>;
  inferMs: number;
}

export class EngineError extends CodedError<string> {}

/** The Python that runs the Edge TPU worker: Debian's (its tflite/pycoral packages import only there). */
export const EDGETPU_PYTHON = '/usr/bin/python3';

/** The worker entry points shipped with the package, resolved next to this file (.ts in tests, .js when built). */
export function defaultWorkerCommand(engine: 'onnxruntime' | 'edgetpu' = 'onnxruntime'): string[] {
  const ext = extname(fileURLToPath(import.meta.url));
  if (engine === 'edgetpu') {
    // Python sources are not compiled: from dist/ they are found in the package's pipelines/ folder.
    const rel = ext === '.ts' ? './edgetpu/worker.py' : '../../../pipelines/engines/edgetpu/worker.py';
    return [EDGETPU_PYTHON, '-B', fileURLToPath(new URL(rel, import.meta.url))];
  }
  const worker = fileURLToPath(new URL(`./${engine}/worker${ext}`, import.meta.url));
  // Under a TypeScript loader (tests) the child needs the same loader flags.
  return [process.execPath, ...(ext === '.ts' ? process.execArgv : []), worker];
}

interface Pending {
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Restart the timeout with a new length (a load that turned into an engine build). */
  extend?: (timeoutMs: number) => void;
}

/**
 * One engine worker process. Events: 'exit' (code, signal), 'protocol-error' (Error), 'building'
 * (BuildingMsg: a load now builds an engine and is given buildTimeoutMs from that moment).
 * Requests are answered in order; each has a timeout after which it rejects with code TIMEOUT
 * (the owner decides whether to kill the worker).
 */
export class EngineWorker extends EventEmitter {
  private proc: ChildProcessByStdio<Writable, Readable, Readable> | null = null;
  private decoder = new FrameDecoder();
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private helloWaiter: Pending | null = null;
  hello: HelloMsg | null = null;
  loaded: LoadedMsg | null = null;
  exited = false;
  private stderrTail: string[] = [];

  constructor(private readonly opts: EngineOptions = {}) {
    super();
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Last lines the worker wrote to stderr (for error reports). */
  get lastStderr(): string[] {
    return [...this.stderrTail];
  }

  start(): Promise<HelloMsg> {
    const [cmd, ...args] = this.opts.command ?? defaultWorkerCommand();
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: workerEnv(this.opts.env ?? process.env) });
    this.proc = proc;
    proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    let partial = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.trim()) continue;
        this.stderrTail.push(l);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
        this.opts.onStderr?.(l);
      }
    });
    proc.stdin.on('error', () => undefined); // EPIPE when the worker died; the exit event reports it
    proc.on('error', (e) => this.failAll(new EngineError('SPAWN_FAILED', `cannot start engine worker ${cmd}: ${e.message}`)));
    proc.on('exit', (code, signal) => {
      this.exited = true;
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderrTail.length ? ` (stderr: ${this.stderrTail.slice(-3).join(' | ')})` : '';
      this.failAll(new EngineError('WORKER_EXITED', `engine worker ${why}${tail}`));
      this.emit('exit', code, signal);
    });
    return new Promise<HelloMsg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.helloWaiter = null;
        reject(new EngineError('TIMEOUT', `engine worker sent no hello within ${this.opts.helloTimeoutMs ?? 10000} ms`));
      }, this.opts.helloTimeoutMs ?? 10000);
      this.helloWaiter = {
        timer,
        reject,
        resolve: (m) => {
          const h = m.header as unknown as HelloMsg;
          if (h.protocol !== PROTOCOL_VERSION) reject(new EngineError('PROTOCOL', `worker speaks protocol ${h.protocol}, supervisor ${PROTOCOL_VERSION}`));
          else resolve((this.hello = h));
        },
      };
    });
  }

  async load(manifestPath: string, executionProviders: (string | ProviderRequest)[], threads = 0): Promise<LoadedMsg> {
    const m = await this.request({ type: 'load', manifestPath, executionProviders, threads }, undefined, this.opts.loadTimeoutMs ?? 60000);
    this.loaded = m.header as unknown as LoadedMsg;
    return this.loaded;
  }

  /** Load a face detector (task "detect") beside the classifier; needed for faces(). */
  async loadDetector(manifestPath: string, executionProviders: (string | ProviderRequest)[], threads = 0): Promise<LoadedMsg> {
    const m = await this.request({ type: 'loadDetector', manifestPath, executionProviders, threads }, undefined, this.opts.loadTimeoutMs ?? 60000);
    return m.header as unknown as LoadedMsg;
  }

  /** The worker reads frames from shared-memory slots (its hello says `slots`; D134). */
  get readsSlots(): boolean {
    return this.hello?.slots === true;
  }

  /**
   * A frame for a request: its slot when the worker reads slots (nothing else crosses), else its bytes
   * (a worker that does not read slots gets them over its pipe, read from the slot here).
   */
  private pixels(p: FramePixels): { slot?: SlotRef; body: Buffer | null } {
    if (!isSlot(p)) return { body: p };
    return this.readsSlots ? { slot: p, body: null } : { body: readSlot(p) };
  }

  /** Frame formats this worker reads in faces requests (its hello; protocol 1 without the list: rgb24). */
  get frameFormats(): FrameFormat[] {
    return this.hello?.frameFormats ?? ['rgb24'];
  }

  private checkFormat(format: FrameFormat): Promise<never> | null {
    if (this.frameFormats.includes(format)) return null;
    return Promise.reject(new EngineError('UNSUPPORTED_FORMAT', `the ${this.hello?.engine ?? ''} engine worker does not read ${format} frames (it reads ${this.frameFormats.join(', ')})`));
  }

  /** Detect and classify the faces of one frame (any size; rgb24 unless `format` says otherwise). */
  async faces(data: FramePixels, width: number, height: number, options: FacesOptions = {}, format: FrameFormat = 'rgb24'): Promise<FacesResultMsg> {
    const bad = this.checkFormat(format);
    if (bad) return bad;
    const px = this.pixels(data);
    const m = await this.request({ type: 'faces', width, height, ...(format !== 'rgb24' ? { format } : {}), ...(px.slot ? { slot: px.slot } : {}), ...options }, px.body ?? undefined, this.opts.inferTimeoutMs ?? 5000);
    return m.header as unknown as FacesResultMsg;
  }

  /** Detect and classify the faces of several frames in one request (a batch across cameras); `tracking` (issue 14) and `crops` (D112) per frame. */
  async facesBatch(frames: { data: FramePixels; width: number; height: number; format?: FrameFormat; tracking?: FacesTracking; crops?: [number, number, number, number][] }[], options: FacesOptions = {}): Promise<FacesBatchResultMsg> {
    for (const f of frames) {
      const bad = this.checkFormat(f.format ?? 'rgb24');
      if (bad) return bad;
    }
    const px = frames.map((f) => this.pixels(f.data));
    const header = { type: 'facesBatch', frames: frames.map((f, i) => ({ width: f.width, height: f.height, ...(f.format && f.format !== 'rgb24' ? { format: f.format } : {}), ...(px[i].slot ? { slot: px[i].slot } : {}), ...(f.tracking ? { tracking: f.tracking } : {}), ...(f.crops ? { crops: f.crops } : {}) })), ...options };
    const m = await this.request(header, px.flatMap((p) => (p.body ? [p.body] : [])), this.opts.inferTimeoutMs ?? 5000);
    return m.header as unknown as FacesBatchResultMsg;
  }

  async infer(rgb: FramePixels, width: number, height: number, outputs?: string[]): Promise<InferOutput> {
    const px = this.pixels(rgb);
    const m = await this.request({ type: 'infer', width, height, ...(px.slot ? { slot: px.slot } : {}), ...(outputs ? { outputs } : {}) }, px.body ?? undefined, this.opts.inferTimeoutMs ?? 5000);
    const h = m.header as unknown as ResultMsg;
    return { outputs: unpackOutputs(h.outputs, m.body), inferMs: h.inferMs };
  }

  async ping(timeoutMs = 2000): Promise<{ busy: boolean }> {
    const m = await this.request({ type: 'ping' }, undefined, timeoutMs);
    return { busy: Boolean(m.header.busy) };
  }

  /** Ask the worker to exit; SIGKILL it if it has not within graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    const proc = this.proc;
    if (!proc || this.exited) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    try {
      proc.stdin.write(encode({ type: 'shutdown' }));
      proc.stdin.end();
    } catch {
      /* already closed */
    }
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(t);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.proc && !this.exited) this.proc.kill(signal);
  }

  private request(header: { type: string; [k: string]: unknown }, body: Buffer | Buffer[] | undefined, timeoutMs: number): Promise<Message> {
    if (!this.proc || this.exited) return Promise.reject(new EngineError('WORKER_EXITED', 'engine worker is not running'));
    const id = this.nextId++;
    return new Promise<Message>((resolve, reject) => {
      const arm = (ms: number, what: string) =>
        setTimeout(() => {
          this.pending.delete(id);
          reject(new EngineError('TIMEOUT', `engine worker did not answer ${header.type} within ${ms} ms${what}`));
        }, ms);
      const p: Pending = { resolve, reject, timer: arm(timeoutMs, '') };
      p.extend = (ms) => {
        clearTimeout(p.timer);
        p.timer = arm(ms, ' of building its engine');
      };
      this.pending.set(id, p);
      // Header and body parts as separate writes: frames are not copied (never modified once taken).
      for (const part of encodeParts({ ...header, id }, body)) if (part.length) this.proc!.stdin.write(part);
    });
  }

  private onData(chunk: Buffer): void {
    let msgs: Message[];
    try {
      msgs = this.decoder.push(chunk);
    } catch (e) {
      const err = new EngineError('PROTOCOL', `engine worker wrote garbage: ${(e as Error).message}`);
      this.failAll(err);
      this.emit('protocol-error', err);
      this.kill();
      return;
    }
    for (const m of msgs) {
      if (m.header.type === 'hello') {
        const w = this.helloWaiter;
        this.helloWaiter = null;
        if (w) {
          clearTimeout(w.timer);
          w.resolve(m);
        }
        continue;
      }
      const id = m.header.id as number | undefined;
      const p = id !== undefined ? this.pending.get(id) : undefined;
      if (!p) continue; // a late answer to a request that already timed out
      if (m.header.type === 'building') {
        // Not the answer: the load goes on, now with the build timeout.
        p.extend?.(this.opts.buildTimeoutMs ?? 3_600_000);
        this.emit('building', m.header as unknown as BuildingMsg);
        continue;
      }
      this.pending.delete(id!);
      clearTimeout(p.timer);
      if (m.header.type === 'error') {
        const e = m.header as unknown as ErrorMsg;
        p.reject(new EngineError(e.code, e.message));
      } else p.resolve(m);
    }
  }

  private failAll(err: Error): void {
    if (this.helloWaiter) {
      clearTimeout(this.helloWaiter.timer);
      this.helloWaiter.reject(err);
      this.helloWaiter = null;
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
