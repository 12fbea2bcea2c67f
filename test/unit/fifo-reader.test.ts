// Frames through a real FIFO into pooled buffers: exact bytes whatever the writer's chunking, buffers
// reused once released, and a restarted writer never mixes its bytes with a killed run's.
import t from 'tap';
import { sharedFrames } from '../helpers/frames.js';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FramePool, PooledBuffer } from '../../pipelines/sources/frame-pool.js';
import { FifoReader, makeFifo } from '../../pipelines/sources/fifo-reader.js';
import { ProcessSource, type Frame } from '../../pipelines/sources/process-source.js';

// A writer: FRAMES frames of SIZE bytes, byte j of frame i = (tag + i * 7 + j) % 251, written in
// CHUNK-byte pieces; STOP_AT > 0: exit after that many bytes (a run killed mid-frame).
const WRITER = `
const fs = require('node:fs');
const [path, frames, size, chunk, tag, stopAt] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
const fd = fs.openSync(path, 'w');
const all = Buffer.alloc(frames * size);
for (let i = 0; i < frames; i++) for (let j = 0; j < size; j++) all[i * size + j] = (tag + i * 7 + j) % 251;
const end = stopAt > 0 ? stopAt : all.length;
for (let o = 0; o < end; o += chunk) fs.writeSync(fd, all, o, Math.min(chunk, end - o));
fs.closeSync(fd);
`;
const writer = (path: string, frames: number, size: number, chunk: number, tag: number, stopAt = 0) =>
  spawn(process.execPath, ['-e', WRITER, path, String(frames), String(size), String(chunk), String(tag), String(stopAt)], { stdio: 'inherit' });

const frameOk = (b: Buffer, tag: number, i: number) => b.every((v, j) => v === (tag + i * 7 + j) % 251);

t.test('pool: reference counted buffers come back on the last release, idle count bounded', async (t) => {
  const pool = new FramePool(16, 2);
  const a = pool.take();
  t.equal(a.length, 16);
  const pa = new PooledBuffer(a, pool);
  pa.hold();
  pa.release();
  t.equal(pool.idle, 0, 'still held once');
  pa.release();
  t.equal(pool.idle, 1, 'back in the pool after the last release');
  pa.release();
  t.equal(pool.idle, 1, 'an extra release is a no-op');
  t.throws(() => pa.hold(), /after its last release/);
  t.equal(pool.take(), a, 'reused');
  const bufs = [pool.take(), pool.take(), pool.take()];
  for (const b of bufs) pool.give(b);
  t.equal(pool.idle, 2, 'at most `keep` idle buffers');
  pool.give(Buffer.alloc(8));
  t.equal(pool.idle, 2, 'a buffer of another size is not taken');
  t.equal(pool.allocated, 4);
  t.throws(() => new FramePool(0), /positive integer/);
});

t.test('FIFO reader: exact frames from odd chunks, end when the writer leaves, buffers reused', async (t) => {
  const path = join(t.testdir({}), 'frames');
  makeFifo(path);
  const pool = new FramePool(1000);
  const got: Buffer[] = [];
  let ok = 0;
  const ended = new Promise<Error | undefined>((resolve) => {
    const reader = new FifoReader(path, pool, {
      onFrame: (b) => {
        if (frameOk(b, 3, got.length)) ok++;
        got.push(b);
        pool.give(b); // released at once: the next frames reuse it
      },
      onEnd: resolve,
    });
    t.teardown(() => reader.close());
  });
  const w = writer(path, 12, 1000, 333, 3);
  t.equal(await ended, undefined, 'a clean end of file');
  t.equal(await new Promise((r) => (w.exitCode !== null ? r(w.exitCode) : w.once('exit', r))), 0);
  t.equal(got.length, 12, 'every frame');
  t.equal(ok, 12, 'every byte where it belongs');
  t.ok(pool.allocated <= 3, `buffers allocated: ${pool.allocated} for 12 frames`);
});

t.test('FIFO reader: no end of file before a writer has come (open before the writer starts)', async (t) => {
  const path = join(t.testdir({}), 'frames');
  makeFifo(path);
  let ended = false;
  const frames: Buffer[] = [];
  const reader = new FifoReader(path, new FramePool(10), { onFrame: (b) => frames.push(b), onEnd: () => (ended = true) });
  t.teardown(() => reader.close());
  await new Promise((r) => setTimeout(r, 300));
  t.equal(ended, false, 'still waiting for a writer');
  const w = writer(path, 2, 10, 10, 0);
  await new Promise((r) => w.once('exit', r));
  await new Promise((r) => setTimeout(r, 100));
  t.equal(frames.length, 2);
  t.equal(ended, true);
  t.throws(() => makeFifo(join(t.testdir({}), 'missing-dir', 'frames')), /mkfifo .* failed: .*No such file/);
});

t.test('ProcessSource: a run killed mid-frame never mixes its bytes into the next run', async (t) => {
  let run = 0;
  // 4x4 RGB = 48 bytes; run 1 writes 2 frames and half a third then exits; run 2 writes 5 whole frames.
  const src = new ProcessSource({ id: 'cam', width: 4, height: 4, stallSec: 10, restartMinMs: 50, restartMaxMs: 50, runDir: t.testdir({}), frames: sharedFrames(t) }, (out) => {
    run++;
    // later runs (the second one exits too) write nothing, so the count below cannot run past 7
    if (run > 2) return { path: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)'] };
    const args = run === 1 ? ['3', '48', '20', '100', String(48 * 2 + 24)] : ['5', '48', '7', '200', '0'];
    return { path: process.execPath, args: ['-e', WRITER, out, ...args] };
  });
  const frames: Frame[] = [];
  src.on('frame', (f: Frame) => frames.push({ ...f, data: Buffer.from(f.data) }) && f.release());
  src.start();
  t.teardown(() => src.stop());
  const t0 = Date.now();
  while ((frames.length < 7 || run < 3) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
  t.equal(frames.length, 7, '2 frames of the first run, 5 of the second');
  t.ok(frames.slice(0, 2).every((f, i) => frameOk(f.data, 100, i)), 'first run: whole frames');
  t.ok(frames.slice(2).every((f, i) => frameOk(f.data, 200, i)), 'second run: whole frames, none shifted by the half frame');
  t.same(frames.map((f) => f.seq), [0, 1, 2, 3, 4, 5, 6], 'sequence numbers continue across the restart');
  t.ok(src.restarts >= 1, 'restarted after the first run ended');
});
