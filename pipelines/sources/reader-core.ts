// The frame reader's work (D134, D174): read every camera's frame FIFO and write each frame into a
// shared-memory slot the supervisor lent it, then tell the supervisor which slot, with the frame's
// size, capture time and (for motion gating) its luma thumbnail. The supervisor's own code never
// touches the pixels; the engine workers read them from the slot. It runs on the supervisor's event
// loop behind reader-link.ts; messages:
//   in:  attach {key, fifo, format, width, height, thumb, slots[]}, lend {key, slots[]}, detach {key}
//   out: frame {key, slot, bytes, width, height, ts, mono} + thumbnail body, dropped {key}, end {key, error?}
// A frame that arrives while no slot is lent waits (one per camera) and the FIFO is not read until a
// slot comes: the decoder blocks for that moment instead of losing the frame (bursts: a decoder
// catching up, a file read faster than real time). Every slot is lent again as soon as its frame is
// released, and the scheduler drops stale frames itself (newest wins), so the wait is short.
import { closeSync, openSync, writeSync } from 'node:fs';
import { monoMs } from '../clock.js';
import { lumaThumbnail, THUMB_COLUMNS } from '../motion.js';
import { frameBytes, type FrameFormat } from '../pre/yuv.js';
import { FifoReader } from './fifo-reader.js';
import { FramePool } from './frame-pool.js';
import { Y4mFramer, type FramedFrame } from './y4m.js';

export type ReaderHeader = { type: string; [k: string]: unknown };
/** How the reader talks back: a header and, with a frame notice, its thumbnail (the callee may keep it). */
export type ReaderSend = (header: ReaderHeader, body?: Uint8Array) => void;

export interface AttachMsg {
  key: string;
  fifo: string;
  format: FrameFormat;
  width: number;
  height: number;
  thumb: boolean;
  slots: string[];
}

interface Run {
  reader: FifoReader;
  width: number;
  height: number;
  format: FrameFormat;
  thumb: boolean;
  /** Slots lent to fill, oldest first, and their open descriptors. */
  slots: string[];
  fds: Map<string, number>;
  pool: FramePool;
  /** A frame read while no slot was lent, with its capture times. */
  waiting: { data: Buffer; f: FramedFrame; at: CaptureTime } | null;
}

/** A frame's capture time on both clocks (D165): `ts` the wall clock, `mono` the monotonic one. */
export interface CaptureTime {
  ts: number;
  mono: number;
}

export class FrameReader {
  private runs = new Map<string, Run>();

  /** `guard` runs each piece of work a FIFO's events start (a frame read, a pipe's end): reader-link.ts ends the reader on an exception there. */
  constructor(
    private readonly send: ReaderSend,
    private readonly guard: (work: () => void) => void,
  ) {}

  /** One message from the supervisor. */
  handle(h: ReaderHeader): void {
    const key = h.key as string;
    switch (h.type) {
      case 'attach':
        this.attach(h as unknown as AttachMsg);
        return;
      case 'lend': {
        const run = this.runs.get(key);
        if (!run) return;
        run.slots.push(...(h.slots as string[]));
        const w = run.waiting;
        if (w) {
          run.waiting = null;
          this.place(key, run, w.data, w.f, w.at);
          if (this.runs.get(key) === run) run.reader.resume();
        }
        return;
      }
      case 'detach':
        this.close(key);
        return;
      default:
        throw new Error(`unknown message type "${h.type}"`);
    }
  }

  /** Close every run: its FIFO and its slots' descriptors. */
  closeAll(): void {
    for (const k of [...this.runs.keys()]) this.close(k);
  }

  private attach(a: AttachMsg): void {
    const pool = new FramePool(frameBytes(a.format, a.width, a.height), 2);
    const run: Run = { width: a.width, height: a.height, format: a.format, thumb: a.thumb, slots: [...a.slots], fds: new Map(), pool, reader: null as unknown as FifoReader, waiting: null };
    const framing = a.format === 'i420' ? new Y4mFramer((w, h) => (run.pool = run.pool.bytes === frameBytes('i420', w, h) ? run.pool : new FramePool(frameBytes('i420', w, h), 2))) : pool;
    try {
      run.reader = new FifoReader(a.fifo, framing, {
        onFrame: (data, f) => this.guard(() => this.onFrame(a.key, run, data, f)),
        onEnd: (err) =>
          this.guard(() => {
            if (this.runs.get(a.key) !== run) return;
            this.close(a.key);
            this.send({ type: 'end', key: a.key, ...(err ? { error: err.message } : {}) });
          }),
      });
    } catch (e) {
      this.send({ type: 'end', key: a.key, error: `cannot open ${a.fifo}: ${(e as Error).message}` });
      return;
    }
    this.runs.set(a.key, run);
  }

  private onFrame(key: string, run: Run, data: Buffer, f: FramedFrame): void {
    const at = { ts: Date.now(), mono: monoMs() };
    if (!run.slots.length) {
      // no slot lent: this frame waits for one, and the FIFO with it (an older waiting frame is dropped)
      if (run.waiting) {
        run.pool.give(run.waiting.data);
        this.send({ type: 'dropped', key });
      }
      run.waiting = { data, f, at };
      run.reader.pause();
      return;
    }
    this.place(key, run, data, f, at);
  }

  /** Write a frame into the next lent slot and tell the supervisor; its buffer goes back to the pool. */
  private place(key: string, run: Run, data: Buffer, f: FramedFrame, at: CaptureTime): void {
    try {
      const slot = run.slots.shift()!;
      let fd = run.fds.get(slot);
      if (fd === undefined) run.fds.set(slot, (fd = openSync(slot, 'r+')));
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, off);
      // raw RGB frames are the size asked for; a YUV4MPEG2 stream says its own
      const width = f.width || run.width, height = f.height || run.height;
      const thumb = run.thumb ? lumaThumbnail(data, width, height, THUMB_COLUMNS, run.format === 'i420' ? 'i420' : 'rgb24') : undefined;
      this.send({ type: 'frame', key, slot, bytes: data.length, width, height, ts: at.ts, mono: at.mono }, thumb);
    } catch (e) {
      // a slot that cannot be written (the folder is gone, the memory is full): this run cannot go on
      this.close(key);
      this.send({ type: 'end', key, error: `frame slot: ${(e as Error).message}` });
    } finally {
      run.pool.give(data);
    }
  }

  private close(key: string): void {
    const run = this.runs.get(key);
    if (!run) return;
    this.runs.delete(key);
    run.reader?.close();
    for (const fd of run.fds.values()) closeSync(fd);
  }
}
