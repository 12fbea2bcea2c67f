// The frame reader process (D134): reads every camera's frame FIFO and writes each frame into a
// shared-memory slot the supervisor lent it, then tells the supervisor which slot, with the frame's
// size, capture time and (for motion gating) its luma thumbnail. The supervisor never touches the
// pixels; the engine workers read them from the slot. Speaks the engine protocol's framing over
// stdio (serveStdio); messages:
//   in:  attach {key, fifo, format, width, height, thumb, slots[]}, lend {key, slots[]}, detach {key}, shutdown
//   out: hello {pid}, frame {key, slot, bytes, width, height, ts} + thumbnail body, end {key, error?}
// A frame that arrives while no slot is lent waits (one per camera) and the FIFO is not read until a
// slot comes: the decoder blocks for that moment instead of losing the frame (bursts: a decoder
// catching up, a file read faster than real time). Every slot is lent again as soon as its frame is
// released, and the scheduler drops stale frames itself (newest wins), so the wait is short.
import { closeSync, openSync, writeSync } from 'node:fs';
import { serveStdio } from '../engines/stdio-channel.js';
import type { Message } from '../engines/protocol.js';
import { lumaThumbnail, THUMB_COLUMNS } from '../motion.js';
import { frameBytes, type FrameFormat } from '../pre/yuv.js';
import { FifoReader } from './fifo-reader.js';
import { FramePool } from './frame-pool.js';
import { Y4mFramer, type FramedFrame } from './y4m.js';

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
  /** A frame read while no slot was lent, with its capture time. */
  waiting: { data: Buffer; f: FramedFrame; ts: number } | null;
}

const runs = new Map<string, Run>();

const send = serveStdio((m: Message) => {
  const h = m.header as Record<string, unknown> & { type: string; key?: string };
  switch (h.type) {
    case 'attach':
      return attach(h as unknown as AttachMsg);
    case 'lend': {
      const run = runs.get(h.key!);
      if (!run) return;
      run.slots.push(...(h.slots as string[]));
      const w = run.waiting;
      if (w) {
        run.waiting = null;
        place(h.key!, run, w.data, w.f, w.ts);
        if (runs.get(h.key!) === run) run.reader.resume();
      }
      return;
    }
    case 'detach':
      return close(h.key!);
    case 'shutdown':
      for (const k of [...runs.keys()]) close(k);
      process.exit(0);
    default:
      process.stderr.write(`frame reader: unknown message type "${h.type}"\n`);
  }
}, 'frame reader');

interface AttachMsg {
  key: string;
  fifo: string;
  format: FrameFormat;
  width: number;
  height: number;
  thumb: boolean;
  slots: string[];
}

function attach(a: AttachMsg): void {
  const pool = new FramePool(frameBytes(a.format, a.width, a.height), 2);
  const run: Run = { width: a.width, height: a.height, format: a.format, thumb: a.thumb, slots: [...a.slots], fds: new Map(), pool, reader: null as unknown as FifoReader, waiting: null };
  const framing = a.format === 'i420' ? new Y4mFramer((w, h) => (run.pool = run.pool.bytes === frameBytes('i420', w, h) ? run.pool : new FramePool(frameBytes('i420', w, h), 2))) : pool;
  try {
    run.reader = new FifoReader(a.fifo, framing, {
      onFrame: (data, f) => onFrame(a.key, run, data, f),
      onEnd: (err) => {
        if (runs.get(a.key) !== run) return;
        close(a.key);
        send({ type: 'end', key: a.key, ...(err ? { error: err.message } : {}) });
      },
    });
  } catch (e) {
    send({ type: 'end', key: a.key, error: `cannot open ${a.fifo}: ${(e as Error).message}` });
    return;
  }
  runs.set(a.key, run);
}

function onFrame(key: string, run: Run, data: Buffer, f: FramedFrame): void {
  const ts = Date.now();
  if (!run.slots.length) {
    // no slot lent: this frame waits for one, and the FIFO with it (an older waiting frame is dropped)
    if (run.waiting) {
      run.pool.give(run.waiting.data);
      send({ type: 'dropped', key });
    }
    run.waiting = { data, f, ts };
    run.reader.pause();
    return;
  }
  place(key, run, data, f, ts);
}

/** Write a frame into the next lent slot and tell the supervisor; its buffer goes back to the pool. */
function place(key: string, run: Run, data: Buffer, f: FramedFrame, ts: number): void {
  try {
    const slot = run.slots.shift()!;
    let fd = run.fds.get(slot);
    if (fd === undefined) run.fds.set(slot, (fd = openSync(slot, 'r+')));
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, off);
    // raw RGB frames are the size asked for; a YUV4MPEG2 stream says its own
    const width = f.width || run.width, height = f.height || run.height;
    const thumb = run.thumb ? lumaThumbnail(data, width, height, THUMB_COLUMNS, run.format === 'i420' ? 'i420' : 'rgb24') : undefined;
    send({ type: 'frame', key, slot, bytes: data.length, width, height, ts }, thumb ? Buffer.from(thumb.buffer, thumb.byteOffset, thumb.length) : undefined);
  } catch (e) {
    // a slot that cannot be written (the folder is gone, the memory is full): this run cannot go on
    close(key);
    send({ type: 'end', key, error: `frame slot: ${(e as Error).message}` });
  } finally {
    run.pool.give(data);
  }
}

function close(key: string): void {
  const run = runs.get(key);
  if (!run) return;
  runs.delete(key);
  run.reader?.close();
  for (const fd of run.fds.values()) closeSync(fd);
}

// its own name in ps and top (and in the bench's CPU table): it is a Node process like the engine workers
process.title = 'frame-reader';
process.on('SIGINT', () => undefined);
send({ type: 'hello', pid: process.pid });
