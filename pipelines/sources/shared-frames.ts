// The supervisor's side of the frame path's byte-free hop (D134): one frame reader on this process's
// event loop (D174, reader-core.ts) reads every camera's FIFO into shared-memory slots; this class
// starts it, lends it slots (each camera's SlotRing), and turns its notices into frames that name a
// slot. The supervisor reads a frame's pixels only when something asks for them (a preview, a
// snapshot, collect). Events: 'exit' (reason) when the reader died (every attached run ends with an
// error; the next attach starts a new reader).
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlotRef } from '../engines/slots.js';
import type { FrameFormat } from '../pre/yuv.js';
import type { ReaderHeader } from './reader-core.js';
import { startReader, type ReaderLink } from './reader-link.js';
import { SlotRing, type SlotStats } from './slot-ring.js';

/** A frame the reader put in a slot: held by the frame until release() (the ring takes it back then). */
export interface SlotFrame {
  slot: SlotRef;
  width: number;
  height: number;
  /** When its last byte arrived from the decoder (ms since epoch). */
  ts: number;
  /** The same moment on the monotonic clock (pipelines/clock.ts, D165). */
  mono: number;
  /** The 64-column luma thumbnail (motion gating), when the run asked for it. */
  thumb: Uint8Array | null;
}

export interface RunEvents {
  onFrame: (f: SlotFrame) => void;
  /** The decoder closed the pipe, the stream was malformed, or the reader died (err). */
  onEnd: (err?: Error) => void;
  /** A frame the reader could not place (every slot held). */
  onDropped?: () => void;
}

export interface RunOptions {
  fifo: string;
  format: FrameFormat;
  width: number;
  height: number;
  thumb: boolean;
}

export interface SharedFramesOptions {
  /** Where the slot folder is made; default /dev/shm when writable, else the OS temp dir. */
  dir?: string;
  /** Most slot files per camera. */
  maxSlots?: number;
}

interface ActiveRun {
  ring: SlotRing;
  ev: RunEvents;
}

/** /dev/shm when it is a writable folder (memory, not disk), else the OS temp dir. */
export function slotParent(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    /* no /dev/shm here */
  }
  return tmpdir();
}

const FOLDER = 'mobilenet-edge-frames-';

/**
 * Delete slot folders in `parent` left by daemons that died without stopping (SIGKILL, a power cut does
 * not leave /dev/shm): each folder is named after its daemon's pid, and one whose pid is not running
 * goes. Returns the folders deleted.
 */
export function sweepStaleSlots(parent: string, alive = (pid: number) => pidAlive(pid)): string[] {
  const gone: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return gone;
  }
  for (const n of names) {
    const m = n.startsWith(FOLDER) ? /^(\d+)-/.exec(n.slice(FOLDER.length)) : null;
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    rmSync(join(parent, n), { recursive: true, force: true });
    gone.push(n);
  }
  return gone;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SharedFrames extends EventEmitter {
  private link: ReaderLink | null = null;
  private runs = new Map<string, ActiveRun>();
  private rings: SlotRing[] = [];
  private nextRun = 1;
  private stopped = false;
  /** The slot folder (made at start). */
  dir = '';
  /** Readers started (1 + restarts). */
  starts = 0;

  constructor(private readonly opts: SharedFramesOptions = {}) {
    super();
  }

  /** End the reader now, as a crash would: every run ends with an error, the next attach starts another. */
  kill(): void {
    this.link?.kill();
  }

  /** Slot folders of dead daemons deleted at start. */
  swept: string[] = [];

  start(): void {
    this.stopped = false;
    const parent = this.opts.dir ?? slotParent();
    this.swept = sweepStaleSlots(parent);
    this.dir = mkdtempSync(join(parent, `${FOLDER}${process.pid}-`));
    this.spawnReader();
  }

  /** A camera's ring of slots (files named by the ring's number: camera ids may hold any character). */
  newRing(): SlotRing {
    if (!this.dir) throw new Error('shared frames not started');
    const r = new SlotRing(this.dir, `c${this.rings.length}`, this.opts.maxSlots ?? 8);
    this.rings.push(r);
    return r;
  }

  /** Start reading a FIFO into `ring`'s slots; close() the returned run to stop (no onEnd then). */
  attach(ring: SlotRing, o: RunOptions, ev: RunEvents): { close: () => void } {
    if (this.stopped) throw new Error('shared frames stopped');
    if (!this.link) this.spawnReader();
    const key = String(this.nextRun++);
    this.runs.set(key, { ring, ev });
    this.write({ type: 'attach', key, fifo: o.fifo, format: o.format, width: o.width, height: o.height, thumb: o.thumb, slots: ring.lend() });
    return {
      close: () => {
        if (!this.runs.delete(key)) return;
        this.write({ type: 'detach', key });
        ring.reclaim();
      },
    };
  }

  /**
   * A frame's last release: its slot goes back to the ring, and on to the reader if the ring still reads
   * (a camera has at most one run: its source closes the last one before it attaches the next).
   */
  release(ring: SlotRing, path: string): void {
    ring.released(path);
    for (const [key, r] of this.runs) if (r.ring === ring) return this.lendMore(key, ring);
  }

  /** Every camera's slots, summed. */
  stats(): SlotStats {
    const t = { files: 0, free: 0, lent: 0, held: 0 };
    for (const r of this.rings) for (const [k, v] of Object.entries(r.stats())) t[k as keyof SlotStats] += v;
    return t;
  }

  /** Stop the reader and delete the slot folder; returns the slots' state just before (held > 0 is a leak). */
  stop(): SlotStats {
    this.stopped = true;
    const st = this.stats();
    for (const r of this.runs.values()) r.ring.reclaim();
    this.runs.clear();
    const link = this.link;
    this.link = null;
    link?.stop();
    for (const r of this.rings) r.remove();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    return st;
  }

  private lendMore(key: string, ring: SlotRing): void {
    const slots = ring.lend();
    if (slots.length) this.write({ type: 'lend', key, slots });
  }

  private write(header: ReaderHeader): void {
    this.link?.send(header);
  }

  private spawnReader(): void {
    const link: ReaderLink = startReader({ onMessage: (h, body) => this.onMessage(h, body), onExit: (why) => this.onExit(link, why) });
    this.link = link;
    this.starts++;
  }

  private onExit(link: ReaderLink, why: string): void {
    if (this.link !== link) return;
    this.link = null;
    if (this.stopped) return;
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const r of runs) r.ring.reclaim();
    this.emit('exit', why);
    for (const r of runs) r.ev.onEnd(new Error(why));
  }

  private onMessage(h: ReaderHeader & { key?: string }, body: Uint8Array | undefined): void {
    const run = h.key !== undefined ? this.runs.get(h.key) : undefined;
    if (!run) return; // a notice of a run already closed
    if (h.type === 'frame') {
      const path = h.slot as string;
      if (!run.ring.filled(path)) return;
      const thumb = body ?? null; // made for this notice: its own memory
      this.lendMore(h.key!, run.ring);
      run.ev.onFrame({ slot: { path, bytes: h.bytes as number }, width: h.width as number, height: h.height as number, ts: h.ts as number, mono: h.mono as number, thumb });
    } else if (h.type === 'dropped') run.ev.onDropped?.();
    else if (h.type === 'end') {
      this.runs.delete(h.key!);
      run.ring.reclaim();
      run.ev.onEnd(typeof h.error === 'string' ? new Error(h.error) : undefined);
    }
  }
}
