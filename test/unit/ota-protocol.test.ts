// OTA chunking and reassembly bookkeeping (pure).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { chunkBundle, decodeChunk, encodeChunk, markChunk, missingChunks, planChunk, otaTopics, type Transfer } from '../../deploy/ota/protocol.js';

const bundle = randomBytes(1000);

t.test('topics', async (t) => {
  const tp = otaTopics('hq', 'edge-1');
  t.equal(tp.push, 'hq/edge-1/model/push');
  t.equal(tp.result('abc'), 'hq/edge-1/model/result/abc');
  t.equal(tp.state, 'hq/edge-1/model/state');
});

t.test('chunk → decode → reassemble in any order, duplicates ignored', async (t) => {
  const msgs = chunkBundle(bundle, 'x1', 300);
  t.equal(msgs.length, 4);
  const out = Buffer.alloc(bundle.length);
  let tr: Transfer | null = null;
  let done = false;
  for (const i of [2, 0, 0, 3, 1, 2]) {
    const { header, data } = decodeChunk(msgs[i], 10_000);
    const plan = planChunk(tr, header, 0);
    if (plan.kind === 'duplicate') continue;
    if (plan.kind !== 'start' && plan.kind !== 'write') throw new Error(plan.kind);
    if (plan.kind === 'start') tr = plan.transfer;
    data.copy(out, plan.offset);
    done = markChunk(tr!, header, 0);
  }
  t.ok(done);
  t.ok(out.equals(bundle), 'bytes reassembled exactly');
});

t.test('chunk checks', async (t) => {
  const msgs = chunkBundle(bundle, 'x1', 300);
  t.throws(() => decodeChunk(msgs[0], 999), { code: 'TOO_LARGE' });
  const flipped = Buffer.from(msgs[1]);
  flipped[flipped.length - 1] ^= 1;
  t.throws(() => decodeChunk(flipped, 10_000), { code: 'BAD_CHUNK', message: /sha256/ });
  t.throws(() => decodeChunk(msgs[1].subarray(0, msgs[1].length - 1), 10_000), /bytes, expected/);
  t.throws(() => decodeChunk(Buffer.from('garbage!!'), 10_000), /magic/);
  const h = decodeChunk(msgs[0], 10_000).header;
  t.throws(() => decodeChunk(encodeChunk({ ...h, index: 4 }, Buffer.alloc(0)), 10_000), /index/);
  t.throws(() => decodeChunk(encodeChunk({ ...h, transferId: '../x' }, Buffer.alloc(300)), 10_000), /transfer id/);
  t.throws(() => decodeChunk(encodeChunk({ ...h, count: 9 }, Buffer.alloc(300)), 10_000), /count/);
});

t.test('planning: busy, conflict, missing', async (t) => {
  const a = chunkBundle(bundle, 'a', 300).map((m) => decodeChunk(m, 10_000).header);
  const b = chunkBundle(randomBytes(500), 'b', 300).map((m) => decodeChunk(m, 10_000).header);
  const p = planChunk(null, a[0], 5);
  if (p.kind !== 'start') throw new Error('expected start');
  markChunk(p.transfer, a[0], 5);
  t.same(planChunk(p.transfer, b[0], 6), { kind: 'busy', current: 'a' }, 'a second push while one is in progress');
  t.equal(planChunk(p.transfer, { ...a[0], sha256: 'f'.repeat(64) }, 6).kind, 'conflict', 'same index, other bytes');
  t.equal(planChunk(p.transfer, { ...a[1], size: 999 }, 6).kind, 'conflict', 'header disagrees');
  t.same(missingChunks(p.transfer), [1, 2, 3]);
});

t.test('the one chunk parser: refusals carry the transfer id; chunks above maxChunkBytes are TOO_LARGE', async (t) => {
  const msgs = chunkBundle(bundle, 'x1', 300);
  const flipped = Buffer.from(msgs[1]);
  flipped[flipped.length - 1] ^= 1;
  t.throws(() => decodeChunk(flipped, 10_000), { code: 'BAD_CHUNK', transferId: 'x1' }, 'a bad chunk names its transfer');
  let err: any;
  try {
    decodeChunk(Buffer.from('garbage!!'), 10_000);
  } catch (e) {
    err = e;
  }
  t.same([err?.code, err?.transferId], ['BAD_CHUNK', undefined], 'no id when the header is unreadable');
  t.throws(() => decodeChunk(msgs[0], 10_000, 299), { code: 'TOO_LARGE', transferId: 'x1', message: /ota\.maxChunkBytes/ });
  t.equal(decodeChunk(msgs[0], 10_000, 300).header.index, 0, 'at the limit: fine');
  const one = chunkBundle(Buffer.alloc(100), 'x2', 100_000)[0];
  t.equal(decodeChunk(one, 10_000, 1024).header.count, 1, 'a one-chunk transfer is judged by its real size, not its chunkSize');
});
