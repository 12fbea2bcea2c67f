// One camera: a child process (ffmpeg, gst-launch-1.0) decoding the stream into frames written to a
// named pipe: I420 at the camera's own size as YUV4MPEG2 (faces mode), or model-sized RGB24
// (classify mode). The frame reader (SharedFrames, D134, D174) reads the pipe into shared-memory
// slots; a frame here names its slot, and its pixels are read only when asked for. A source is a
// command line and a format. Any exit of the process is a lost stream (ffmpeg exits 0 when an RTSP
// server dies), and a stream that stops sending frames is killed: both restart with exponential backoff.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { basename, join } from 'node:path';
import { backoffMs } from './ffmpeg-args.js';
import { makeFifo } from './fifo-reader.js';
import { Held } from './frame-pool.js';
import { dieWithParent } from './parent-death.js';
import type { SharedFrames, SlotFrame } from './shared-frames.js';
import type { SlotRing, SlotStats } from './slot-ring.js';
import { readSlot, type SlotRef } from '../engines/slots.js';
import type { FrameFormat } from '../pre/yuv.js';
import { monoMs } from '../clock.js';

export interface Frame {
  camera: string;
  /** Sequence number per camera, counting every frame ffmpeg delivered, across restarts. */
  seq: number;
  /** Capture time: when the frame's last byte arrived from ffmpeg (ms since epoch). */
  ts: number;
  /** The same moment on the monotonic clock (pipelines/clock.ts): latency and waits are measured from it (D165). */
  mono: number;
  width: number;
  height: number;
  /** rgb24: packed RGB; i420: planar YUV 4:2:0 (Y, then U, then V at half size, pre/yuv.ts). */
  format: FrameFormat;
  /** The pixels: valid while the frame is held. For a frame in a slot they are read from it at first use. */
  readonly data: Buffer;
  /** Where the pixels are (D134): engine requests name the slot instead of carrying the bytes. */
  readonly slot?: SlotRef;
  /** The 64-column luma thumbnail the reader made (motion gating), when asked for. */
  readonly thumb?: Uint8Array | null;
  /** Keep the frame past the call that handed it over (each hold needs a release). */
  hold(): void;
  /** Done with the frame: the last release returns its buffer to the source's pool. */
  release(): void;
}

/** scheme://user:password@host → scheme://user:****@host, anywhere in a string. Pure. */
export function maskUrlPasswords(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1****@');
}

export interface ProcessSourceOptions {
  id: string;
  /**
   * rgb24 (default): every frame is exactly width*height*3 bytes. i420: the process writes YUV4MPEG2
   * and the stream's header gives the size (width x height is then the most it may be, not checked).
   */
  format?: FrameFormat;
  width: number;
  height: number;
  /** No frame for this long → kill and restart. */
  stallSec: number;
  restartMinMs: number;
  restartMaxMs: number;
  /** A run this long without trouble resets the backoff. */
  healthyResetSec?: number;
  /** Where the frame FIFO is made (a private directory inside it); default: the OS temp dir. */
  runDir?: string;
  /** The frame reader that reads the FIFO into shared-memory slots (D134). */
  frames: SharedFrames;
  /** The reader also makes each frame's luma thumbnail (motion gating). */
  thumb?: boolean;
}

export type SourceState = 'starting' | 'running' | 'backoff' | 'stopped';

export interface SourceStatus {
  state: SourceState;
  frames: number;
  restarts: number;
  lastError: string | null;
  stderr: string[];
  /** Frames the reader could not place because every slot was held. */
  unplaced: number;
  slots: SlotStats;
}

/** Events: 'frame' (Frame), 'state' (SourceState, reason?). */
export class ProcessSource extends EventEmitter {
  private proc: ChildProcessByStdio<null, null, Readable> | null = null;
  /** The reader's run on the current FIFO: `ended` once the reader reached its end; `frames` it delivered. */
  private run: { close: () => void; ended: boolean; frames: number } | null = null;
  /** Called when the current run ends (a restart waiting for a dead decoder's last frames). */
  private onRunEnd: (() => void) | null = null;
  private fifoDir: string | null = null;
  /** This camera's frame slots. */
  readonly ring: SlotRing;
  private seq = 0;
  private unplaced = 0;
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  /** Monotonic ms (pipelines/clock.ts, D165): a step of the wall clock is not a stalled camera. */
  private startedAt = 0;
  private lastFrameAt = 0;
  private stopping = false;
  /** The camera's own resolution, when the source learns it (ffmpeg does; null otherwise). */
  sourceSize: { width: number; height: number } | null = null;
  state: SourceState = 'stopped';
  restarts = 0;
  lastError: string | null = null;
  private stderrTail: string[] = [];

  /** command(output): program and arguments writing frames to the FIFO at `output`, asked again at every (re)start. */
  constructor(
    readonly opts: ProcessSourceOptions,
    private readonly command: (output: string) => { path: string; args: string[] },
  ) {
    super();
    this.ring = opts.frames.newRing();
  }

  /** The program's short name, for messages (set at each start). */
  program = '';

  status(): SourceStatus {
    return { state: this.state, frames: this.seq, restarts: this.restarts, lastError: this.lastError, stderr: [...this.stderrTail], unplaced: this.unplaced, slots: this.ring.stats() };
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    this.stopping = false;
    this.spawnOnce();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    // No frame after stop(): frames still in the pipe are dropped with the reader's run.
    this.run?.close();
    this.run = null;
    const p = this.proc;
    this.setState('stopped');
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      // One SIGTERM does not stop an ffmpeg blocked in network I/O: SIGKILL is the reliable stop.
      p.kill('SIGKILL');
      await gone;
    }
    if (this.fifoDir) rmSync(this.fifoDir, { recursive: true, force: true });
    this.fifoDir = null;
  }

  /** Kill the running process (the normal restart path takes over). For watchdogs and tests. */
  kill(reason: string): void {
    if (this.proc && this.proc.exitCode === null) {
      this.lastError = reason;
      this.proc.kill('SIGKILL');
    }
  }

  private spawnOnce(): void {
    this.restartTimer = null;
    const waited = this.onRunEnd !== null;
    this.onRunEnd = null;
    if (this.stopping) return;
    // The last run's frames still on their way through the reader come first: its decoder is gone, so
    // the reader reaches the FIFO's end soon; wait for that (once, at most 2 s) before the next run's FIFO.
    const prev = this.run;
    if (prev && !prev.ended && prev.frames > 0 && !waited) {
      this.onRunEnd = () => {
        if (this.restartTimer) clearTimeout(this.restartTimer);
        this.spawnOnce();
      };
      this.restartTimer = setTimeout(() => this.spawnOnce(), 2000);
      return;
    }
    this.setState('starting');
    this.startedAt = monoMs();
    this.lastFrameAt = this.startedAt;
    let fifo: string;
    try {
      fifo = this.openFifo();
    } catch (e) {
      this.lastError = `cannot make the frame pipe: ${(e as Error).message}`;
      this.scheduleRestart();
      return;
    }
    const { path, args } = this.command(fifo);
    this.program = basename(path);
    // the decoder dies with this process, however it ends (D160)
    const run = dieWithParent(path, args);
    const p = spawn(run.path, run.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = p;
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (s: string) => {
      for (const line of s.split('\n')) {
        if (!line.trim() || !this.keepStderrLine(line)) continue;
        // ffmpeg names the camera URL in its errors: its password must not reach health reports.
        this.stderrTail.push(maskUrlPasswords(line.slice(0, 500)));
        if (this.stderrTail.length > 10) this.stderrTail.shift();
      }
    });
    p.on('error', (e) => {
      this.lastError = `cannot run ${path}: ${e.message}`;
    });
    p.on('close', (code, signal) => this.onExit(p, code, signal));
    this.armStallTimer();
  }

  /** A fresh FIFO (in a folder made on first use) and a reader run on it, for the run about to start. */
  private openFifo(): string {
    this.fifoDir ??= mkdtempSync(join(this.opts.runDir ?? tmpdir(), 'mobilenet-edge-src-'));
    const fifo = join(this.fifoDir, 'frames');
    this.run?.close();
    this.run = null;
    makeFifo(fifo);
    const { width, height } = this.opts;
    const run = { close: () => undefined as void, ended: false, frames: 0 };
    run.close = this.opts.frames.attach(this.ring, { fifo, format: this.opts.format ?? 'rgb24', width, height, thumb: this.opts.thumb ?? false }, {
      onFrame: (f) => {
        run.frames++;
        this.onFrame(f);
      },
      onEnd: (err) => {
        run.ended = true;
        if (err) this.kill(`bad frame stream: ${err.message}`);
        if (this.run === run) this.onRunEnd?.();
      },
      onDropped: () => this.unplaced++,
    }).close;
    this.run = run;
    return fifo;
  }

  private onFrame(s: SlotFrame): void {
    const { frames } = this.opts;
    if (this.stopping) return frames.release(this.ring, s.slot.path);
    const now = monoMs();
    this.lastFrameAt = now;
    if (this.state !== 'running') this.setState('running');
    if (this.attempt && now - this.startedAt > (this.opts.healthyResetSec ?? 30) * 1000) this.attempt = 0;
    this.emit('frame', slotFrame(this.opts.id, this.seq++, this.opts.format ?? 'rgb24', s, () => frames.release(this.ring, s.slot.path)));
  }

  /** Subclasses read informational lines here; return false to keep a line out of the error tail. */
  protected keepStderrLine(_line: string): boolean {
    return true;
  }

  private armStallTimer(): void {
    if (this.stallTimer) clearInterval(this.stallTimer);
    const stallMs = this.opts.stallSec * 1000;
    this.stallTimer = setInterval(() => {
      if (monoMs() - this.lastFrameAt > stallMs) this.kill(`no frame for ${this.opts.stallSec} s`);
    }, Math.min(1000, stallMs / 2));
    this.stallTimer.unref();
  }

  private onExit(p: ChildProcessByStdio<null, null, Readable>, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.proc !== p) return;
    this.proc = null;
    // the run stays: the reader relays what the decoder wrote before it died, up to the FIFO's end
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    if (this.stopping) return;
    // Exit code 0 is a lost stream too: ffmpeg exits 0 when the RTSP server goes away.
    const prog = this.program;
    const why = this.lastError?.startsWith('no frame') ? this.lastError : signal ? `${prog} killed by ${signal}` : `${prog} exited with code ${code}`;
    const tail = this.stderrTail.at(-1);
    this.lastError = tail && !why.startsWith('no frame') ? `${why}: ${tail}` : why;
    if (monoMs() - this.startedAt > (this.opts.healthyResetSec ?? 30) * 1000) this.attempt = 0;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = backoffMs(this.attempt++, this.opts.restartMinMs, this.opts.restartMaxMs);
    this.restarts++;
    this.setState('backoff', `${this.lastError}; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => this.spawnOnce(), delay);
  }

  private setState(s: SourceState, reason?: string): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s, reason);
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.restartTimer = this.stallTimer = null;
  }
}

/**
 * A frame in a slot, reference counted: the last release gives the slot back (`done`). Its pixels are
 * read from the slot the first time `data` is asked for, and dropped with the last release.
 */
export function slotFrame(camera: string, seq: number, format: FrameFormat, s: SlotFrame, done: () => void): Frame {
  let pixels: Buffer | null = null;
  const held = new Held(() => {
    pixels = null;
    done();
  });
  return {
    camera,
    seq,
    ts: s.ts,
    mono: s.mono,
    width: s.width,
    height: s.height,
    format,
    slot: s.slot,
    thumb: s.thumb,
    get data(): Buffer {
      if (!held.held) throw new Error(`frame ${camera}#${seq} used after its last release`);
      return (pixels ??= readSlot(s.slot));
    },
    hold: () => held.hold(),
    release: () => held.release(),
  };
}
