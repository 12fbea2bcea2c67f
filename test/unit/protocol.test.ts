import t from 'tap';
import { encode, FrameDecoder, ProtocolError, packOutputs, unpackOutputs, MAGIC, PREFIX_BYTES } from '../../pipelines/engines/protocol.js';

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
});
