// The frame reader and its shared-memory slots (D134): the ring's accounting (pure), stale folders
// of dead daemons swept, and the real reader (D174) reading a real FIFO into slots: exact bytes, a
// frame waits (no loss) while every slot is held, slots lent again on release, a reader that dies
// ends its runs with an error and is started again by the next attach, and an exception in the
// reader is a crash its owner hears about, not one of the process.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SlotRing } from '../../pipelines/sources/slot-ring.js';
import { SharedFrames, sweepStaleSlots, type SlotFrame } from '../../pipelines/sources/shared-frames.js';
import { startReader } from '../../pipelines/sources/reader-link.js';
import { makeFifo } from '../../pipelines/sources/fifo-reader.js';
import { readSlot } from '../../pipelines/engines/slots.js';
import { lumaThumbnail } from '../../pipelines/motion.js';

t.test('ring: lends up to its target, makes files up to its max, takes slots back', async (t) => {
  const dir = t.testdir({});
  const r = new SlotRing(dir, 'c0', 3, 2);
  t.equal(r.refillAt, 1, 'refills once the reader holds one or none');
  const a = r.lend();
  t.equal(a.length, 2, 'two slots lent');
  t.same(readdirSync(dir).sort(), ['c0-0', 'c0-1'], 'their files made');
  t.same(r.lend(), [], 'nothing more while the reader holds its two');
  t.ok(r.filled(a[0]));
  t.notOk(r.filled(a[0]), 'a slot filled twice (a stale notice) is refused');
  t.notOk(r.filled(join(dir, 'c0-9')), 'a slot never lent is refused');
  const b = r.lend();
  t.equal(b.length, 1, 'one more lent after a fill');
  t.ok(r.filled(a[1]) && r.filled(b[0]));
  t.same(r.stats(), { files: 3, free: 0, lent: 0, held: 3 });
  t.same(r.lend(), [], 'at its max with every slot held: nothing to lend (the reader drops frames)');
  r.released(a[0]);
  r.released(a[0]);
  t.same(r.stats(), { files: 3, free: 1, lent: 0, held: 2 }, 'a second release of the same slot changes nothing');
  t.same(r.lend(), [a[0]], 'a released slot is lent again, no new file');
  r.reclaim();
  t.same(r.stats(), { files: 3, free: 1, lent: 0, held: 2 }, 'a run that ended gives its lent slots back');
  r.remove();
  t.same(readdirSync(dir), [], 'remove deletes the files');
  t.throws(() => new SlotRing(dir, 'x', 1, 2), /max 1 must be ≥ lendTarget 2/);
  t.throws(() => new SlotRing(dir, 'x', 4, 2, 2), /refillAt 2 must be in 0..lendTarget-1/);
  // the daemon's default: 3 lent, topped up only once the reader is down to 1 (a lend message per 2 frames)
  const d = new SlotRing(dir, 'd', 8);
  const l = d.lend();
  t.equal(l.length, 3);
  t.ok(d.filled(l[0]));
  t.same(d.lend(), [], 'the reader still holds 2: no message');
  t.ok(d.filled(l[1]));
  t.equal(d.lend().length, 2, 'down to 1: topped up to 3 in one message');
  d.remove();
});

t.test('stale slot folders of dead daemons are swept, live ones kept', async (t) => {
  const parent = t.testdir({});
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  for (const n of [`mobilenet-edge-frames-${deadPid}-abc`, `mobilenet-edge-frames-${process.pid}-def`, `mobilenet-edge-frames-1-ghi`, 'mobilenet-edge-frames-xyz', 'other-123-x']) mkdirSync(join(parent, n));
  const gone = sweepStaleSlots(parent);
  t.same(gone, [`mobilenet-edge-frames-${deadPid}-abc`], 'only the dead daemon\'s folder');
  t.same(readdirSync(parent).sort(), [`mobilenet-edge-frames-${process.pid}-def`, 'mobilenet-edge-frames-1-ghi', 'mobilenet-edge-frames-xyz', 'other-123-x'].sort(), 'ours, a live pid (1), and names not ours stay');
});

// A writer of FRAMES 4x4 RGB frames (48 bytes), byte j of frame i = (i * 7 + j) % 251, then it waits for stdin to close.
const WRITER = `
const fs = require('node:fs');
const [path, frames] = process.argv.slice(1);
const fd = fs.openSync(path, 'w');
for (let i = 0; i < Number(frames); i++) fs.writeSync(fd, Buffer.from(Array.from({ length: 48 }, (_, j) => (i * 7 + j) % 251)));
process.stdin.resume();
process.stdin.on('end', () => fs.closeSync(fd));
`;
const frameOk = (b: Buffer, i: number) => b.length === 48 && b.every((v, j) => v === (i * 7 + j) % 251);

async function until(what: string, pred: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('the reader: frames into slots, waiting while all are held, lent again on release; its death ends the run', async (t) => {
  const dir = t.testdir({});
  const s = new SharedFrames({ dir, maxSlots: 3 });
  s.start();
  t.teardown(() => s.stop());
  t.match(s.dir, new RegExp(`mobilenet-edge-frames-${process.pid}-`), 'the folder is named after the daemon\'s pid');
  const ring = s.newRing();
  const fifo = join(dir, 'fifo');
  makeFifo(fifo);
  const got: SlotFrame[] = [];
  let dropped = 0;
  const ends: (Error | undefined)[] = [];
  const run = s.attach(ring, { fifo, format: 'rgb24', width: 4, height: 4, thumb: true }, { onFrame: (f) => got.push(f), onEnd: (e) => ends.push(e), onDropped: () => dropped++ });
  const w = spawn(process.execPath, ['-e', WRITER, fifo, '6'], { stdio: ['pipe', 'inherit', 'inherit'] });
  t.teardown(() => w.kill('SIGKILL'));
  // 3 slots, none released, 6 frames written at once: the reader places a frame in each slot lent to
  // it (all 3 at the attach); the 4th waits for a slot, and the FIFO with it (the decoder would
  // block), so no frame is lost
  await until('3 frames placed', () => got.length === 3);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(got.length, 3, 'no more frames than slots while none is released');
  t.equal(dropped, 0, 'none dropped: the next frame waits for a slot');
  t.same(ring.stats(), { files: 3, free: 0, lent: 0, held: 3 });
  t.same(new Set(got.map((f) => f.slot.path)).size, 3, 'each in its own slot');
  t.ok(got.every((f, i) => frameOk(readSlot(f.slot), i)), 'each slot holds its frame, byte for byte');
  t.ok(got.every((f) => f.width === 4 && f.height === 4 && f.ts > 0), 'size and capture time with each frame');
  t.ok(got.every((f) => f.thumb && Buffer.from(f.thumb).equals(Buffer.from(lumaThumbnail(readSlot(f.slot), 4, 4)))), 'and the motion gate\'s thumbnail of its pixels');
  // releasing the slots lets the rest through, in order
  const firstThree = got.map((f) => f.slot.path);
  for (const p of firstThree) s.release(ring, p);
  await until('all 6 frames placed', () => got.length === 6);
  t.ok(got.slice(3).every((f, i) => frameOk(readSlot(f.slot), i + 3)), 'frames 3-5 whole and in order after the wait');
  for (const f of got.slice(3)) s.release(ring, f.slot.path);
  // each release lends while the reader holds 1 or none: the first two come back to it, the third waits
  await until('slots lent again', () => ring.stats().lent === 2);
  t.same(ring.stats(), { files: 3, free: 1, lent: 2, held: 0 }, 'released slots are lent to the reader again, none made beyond the max');

  // the reader dies: the run ends with an error, its lent slots come back, the next attach starts another reader
  const exits: string[] = [];
  s.on('exit', (why: string) => exits.push(why));
  s.kill();
  await until('the run ended', () => ends.length === 1);
  t.match(ends[0]?.message, /frame reader killed/);
  t.match(exits, [/frame reader killed/]);
  t.same(ring.stats().lent, 0, 'nothing lent to a dead reader');
  run.close();
  w.stdin.end();
  const fifo2 = join(dir, 'fifo2');
  makeFifo(fifo2);
  const again: SlotFrame[] = [];
  s.attach(ring, { fifo: fifo2, format: 'rgb24', width: 4, height: 4, thumb: false }, { onFrame: (f) => again.push(f), onEnd: () => undefined });
  const w2 = spawn(process.execPath, ['-e', WRITER, fifo2, '2'], { stdio: ['pipe', 'inherit', 'inherit'] });
  t.teardown(() => w2.kill('SIGKILL'));
  await until('frames from the new reader', () => again.length === 2);
  t.equal(s.starts, 2);
  t.ok(again.every((f, i) => frameOk(readSlot(f.slot), i) && f.thumb === null), 'whole frames again, no thumbnail when not asked');
  w2.stdin.end();
  const st = await s.stop();
  t.same(st.held, 2, 'stop reports the slots still held (here: two frames never released)');
  t.notOk(existsSync(s.dir), 'the slot folder is deleted at stop');
});

t.test('the reader crashing: its owner hears once, with the error, the process goes on, and stop() after it does nothing', async (t) => {
  const heard: string[] = [];
  const messages: string[] = [];
  const link = startReader({ onMessage: (h) => messages.push(h.type), onExit: (why) => heard.push(why) });
  // a message it does not know is a bug on our side: the reader throws and ends, this process does not
  link.send({ type: 'no-such-message' });
  await until('the crash heard', () => heard.length > 0);
  t.same(heard, ['frame reader crashed: unknown message type "no-such-message"']);
  link.send({ type: 'shutdown' }); // nothing to send to: no throw
  link.stop();
  t.equal(heard.length, 1, 'heard once');
  t.same(messages, [], 'no notice after its end');
});
