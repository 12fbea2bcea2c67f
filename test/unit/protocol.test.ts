import t from 'tap';
import { encode, FrameDecoder, ProtocolError, packOutputs, unpackOutputs, MAGIC, PREFIX_BYTES } from '../../pipelines/engines/protocol.js';
import { MessageReader, type PooledMessage } from '../../pipelines/engines/message-reader.js';

t.test('round trip of one frame with a body', async (t) => {
  const body = Buffer.from([1, 2, 3, 4, 5]);
  const d = new FrameDecoder();
  const msgs = d.push(encode({ type: 'infer', id: 7, width: 8 }, body));
  t.equal(msgs.length, 1);
  t.same(msgs[0].header, { type: 'infer', id: 7, width: 8 });
  t.same([...msgs[0].body], [1, 2, 3, 4, 5]);
  t.equal(d.pending, 0);
});

t.test('frames split at every byte and merged are reassembled in order', async (t) => {
  const frames = [encode({ type: 'a', id: 1 }), encode({ type: 'b', id: 2 }, Buffer.alloc(300, 9)), encode({ type: 'c', id: 3 }, Buffer.from('xyz'))];
  const all = Buffer.concat(frames);
  // one byte at a time
  const d1 = new FrameDecoder();
  const got1 = [];
  for (let i = 0; i < all.length; i++) got1.push(...d1.push(all.subarray(i, i + 1)));
  t.same(got1.map((m) => m.header.type), ['a', 'b', 'c']);
  t.equal(got1[1].body.length, 300);
  t.equal(got1[2].body.toString(), 'xyz');
  // all at once
  const d2 = new FrameDecoder();
  t.same(d2.push(all).map((m) => m.header.id), [1, 2, 3]);
  // uneven chunks crossing frame boundaries
  const d3 = new FrameDecoder();
  const cut = [5, 40, 41, 200, all.length];
  const got3 = [];
  let prev = 0;
  for (const c of cut) {
    got3.push(...d3.push(all.subarray(prev, c)));
    prev = c;
  }
  t.same(got3.map((m) => m.header.type), ['a', 'b', 'c']);
});

t.test('a half frame waits for the rest', async (t) => {
  const f = encode({ type: 'x' }, Buffer.alloc(10));
  const d = new FrameDecoder();
  t.same(d.push(f.subarray(0, f.length - 1)), []);
  t.equal(d.pending, f.length - 1);
  t.equal(d.push(f.subarray(f.length - 1)).length, 1);
});

t.test('garbage is refused and the decoder stays failed', async (t) => {
  const d = new FrameDecoder();
  t.throws(() => d.push(Buffer.from('GET / HTTP/1.1\r\n\r\n')), ProtocolError);
  t.throws(() => d.push(encode({ type: 'ok' })), /bad magic/);
});

t.test('a wrong protocol version is named', async (t) => {
  const f = encode({ type: 'x' });
  f[3] = 9;
  t.throws(() => new FrameDecoder().push(f), /protocol version 9/);
});

t.test('oversize frames are refused before buffering them', async (t) => {
  const d = new FrameDecoder(1024);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix);
  prefix.writeUInt32LE(2, 4);
  prefix.writeUInt32LE(1 << 30, 8);
  t.throws(() => d.push(prefix), /body of 1073741824 bytes exceeds the 1024-byte limit/);
  const big = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(big);
  big.writeUInt32LE(1 << 21, 4);
  t.throws(() => new FrameDecoder().push(big), /header of 2097152 bytes/);
});

t.test('a header that is not JSON, or has no type, is refused', async (t) => {
  const bad = (json: string) => {
    const h = Buffer.from(json);
    const p = Buffer.alloc(PREFIX_BYTES);
    MAGIC.copy(p);
    p.writeUInt32LE(h.length, 4);
    return Buffer.concat([p, h]);
  };
  t.throws(() => new FrameDecoder().push(bad('{nope')), /not JSON/);
  t.throws(() => new FrameDecoder().push(bad('{"id":1}')), /no "type"/);
  t.throws(() => new FrameDecoder().push(bad('[1]')), /no "type"/);
});

t.test('float32 outputs pack and unpack', async (t) => {
  const a = new Float32Array([1.5, -2, 3.25]);
  const b = new Float32Array([0.125]);
  const { meta, body } = packOutputs([{ name: 'a', dims: [1, 3], data: a }, { name: 'b', dims: [1, 1], data: b }]);
  t.equal(body.length, 16);
  const back = unpackOutputs(meta, body.subarray(0)); // unaligned-safe copy
  t.same([...back.get('a')!.data], [1.5, -2, 3.25]);
  t.same(back.get('b')!.dims, [1, 1]);
  t.throws(() => unpackOutputs([{ name: 'x', dims: [4], byteOffset: 8, length: 4 }], body), /outside the result body/);
});

t.test('encodeParts: the same bytes as encode, body not copied', async (t) => {
  const { encodeParts } = await import('../../pipelines/engines/protocol.js');
  const body = Buffer.alloc(1000, 7);
  const [head, payload] = encodeParts({ type: 'infer', id: 3 }, body);
  t.same(Buffer.concat([head, payload]), encode({ type: 'infer', id: 3 }, body));
  t.equal(payload.buffer, body.buffer, 'the body is passed through, not copied');
  const msgs = new FrameDecoder().push(Buffer.concat([head, payload]));
  t.same(msgs[0].header, { type: 'infer', id: 3 });
  // several body parts (a batch of frames): one body, the parts one after the other, none copied
  const a = Buffer.alloc(3, 1), b = Buffer.alloc(2, 2);
  const parts = encodeParts({ type: 'facesBatch', id: 4 }, [a, b]);
  t.equal(parts.length, 3);
  t.equal(parts[1].buffer, a.buffer);
  const [m] = new FrameDecoder().push(Buffer.concat(parts));
  t.same([...m.body], [1, 1, 1, 2, 2]);
});

// The pull reader the worker uses on stdin: bytes are copied into target() as a socket would.
function feed(r: MessageReader, bytes: Buffer, maxChunk: number): PooledMessage[] {
  const out: PooledMessage[] = [];
  let off = 0;
  while (off < bytes.length) {
    const dst = r.target();
    t.ok(dst.length > 0, 'target is never empty');
    const n = Math.min(dst.length, maxChunk, bytes.length - off);
    bytes.copy(dst, 0, off, off + n);
    off += n;
    const m = r.advance(n);
    if (m) out.push(m);
  }
  return out;
}

t.test('MessageReader: the same messages as FrameDecoder whatever the read sizes', async (t) => {
  const stream = Buffer.concat([
    encode({ type: 'ping', id: 1 }),
    encode({ type: 'faces', id: 2, width: 2, height: 1 }, Buffer.from([1, 2, 3, 4, 5, 6])),
    encode({ type: 'shutdown' }),
  ]);
  for (const chunk of [1, 5, 13, 4096]) {
    const r = new MessageReader();
    const ms = feed(r, stream, chunk);
    t.same(ms.map((m) => m.header), [{ type: 'ping', id: 1 }, { type: 'faces', id: 2, width: 2, height: 1 }, { type: 'shutdown' }], `chunks of ${chunk}`);
    t.same([...ms[1].body], [1, 2, 3, 4, 5, 6]);
    t.equal(ms[0].body.length, 0);
  }
});

t.test('MessageReader: a released body buffer is reused for the next body of that size', async (t) => {
  const r = new MessageReader();
  const msg = (v: number) => encode({ type: 'infer', id: v }, Buffer.alloc(64, v));
  const [a] = feed(r, msg(1), 4096);
  const [b] = feed(r, msg(2), 4096);
  t.not(a.body, b.body, 'two bodies held at once are distinct');
  t.equal(a.body[0], 1, 'the first body is intact while held');
  const first = a.body;
  a.release();
  a.release(); // twice is harmless
  t.equal(r.idle, 1);
  const [c] = feed(r, msg(3), 4096);
  t.equal(c.body, first, 'reused');
  t.same([c.body[0], c.body[63]], [3, 3]);
  t.equal(r.idle, 0);
});

t.test('MessageReader: garbage fails with the reason, and stays failed', async (t) => {
  const bad = encode({ type: 'ping', id: 1 });
  bad[0] = 0x58;
  const r = new MessageReader();
  t.throws(() => feed(r, bad, 100), /bad magic/);
  t.throws(() => r.advance(0), /bad magic/, 'stays failed');
  const big = encode({ type: 'x' }, Buffer.alloc(10));
  t.throws(() => feed(new MessageReader(4), big, 100), /body of 10 bytes exceeds the 4-byte limit/);
  const empty = Buffer.from(encode({ type: 'x' }).subarray(0, 12));
  empty.writeUInt32LE(0, 4);
  empty.writeUInt32LE(0, 8);
  t.throws(() => feed(new MessageReader(), empty, 100), /header of 0 bytes/);
  const notJson = Buffer.concat([encode({ type: 'x' }).subarray(0, 12), Buffer.from('{"ty')]);
  notJson.writeUInt32LE(4, 4);
  notJson.writeUInt32LE(0, 8);
  t.throws(() => feed(new MessageReader(), notJson, 100), /header is not JSON/);
});
