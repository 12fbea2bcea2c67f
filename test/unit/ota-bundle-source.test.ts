// A staged bundle is verified and installed from disk in fixed-size reads (models/bundle-source.ts):
// the same verdicts as the in-memory verifyBundle, no read larger than the read size apart from the
// bounded header / manifest / signature, and bytes changed after the check are never installed.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBundle, encodeBundle, verifyBundle } from '../../models/bundle.js';
import { bufferSource, hashRange, READ_BYTES, readBundleEntries, verifyBundleSource, type ByteSource } from '../../models/bundle-source.js';
import { generateKeys, privateKeyFromPem, publicKeyFromPem } from '../../models/signing.js';
import { ModelStore } from '../../daemon/ota/model-store.js';
import { sha256Hex } from '../../models/bundle.js';
import { variantFiles } from '../helpers/ota-fixtures.js';

const k = generateKeys();
const key = privateKeyFromPem(k.privatePem);
const trusted = [publicKeyFromPem(k.publicPem)];

/** A source that records every read's length. */
function counted(src: ByteSource): ByteSource & { reads: number[] } {
  const reads: number[] = [];
  return { size: src.size, reads, read: (b, off, len, pos) => (reads.push(len), src.read(b, off, len, pos)) };
}

/** A bundle whose model file is `bytes` long (random: the hash check does not parse ONNX). */
const bigBundle = (bytes: number) => {
  const files = variantFiles({ version: '2.0.0', key, onnx: randomBytes(bytes), tests: [['red', [255, 0, 0]]] });
  return { files, bundle: encodeBundle(files) };
};

t.test('a bundle larger than the read size: verified in reads of at most that size', async (t) => {
  const readBytes = 4096;
  const { files, bundle } = bigBundle(300_000);
  const src = counted(bufferSource(bundle));
  const v = await verifyBundleSource(src, { trusted, allowUnsigned: false, readBytes });
  t.equal(v.manifest.version, '2.0.0');
  t.equal(v.keyId, k.keyId);
  const manifestLen = files[0].bytes.length;
  const sigLen = files.find((f) => f.name === 'model.json.sig')!.bytes.length;
  const small = new Set([8, manifestLen, sigLen, bundle.readUInt32LE(4)]);
  const large = src.reads.filter((n) => !small.has(n));
  t.ok(large.length >= 300_000 / readBytes, `the model file came in ${large.length} reads`);
  t.ok(Math.max(...large) <= readBytes, `no read above ${readBytes} bytes (largest ${Math.max(...large)})`);
  const onnx = v.files.find((f) => f.name === 'model.onnx')!;
  t.notOk('bytes' in onnx, 'the model file is not held in memory: a range of the bundle');
  t.same('bytes' in onnx ? null : { size: onnx.size, sha256: onnx.sha256 }, { size: 300_000, sha256: sha256Hex(files[1].bytes) });
});

t.test('the default read size, a bundle of several reads', async (t) => {
  const { bundle } = bigBundle(3 * READ_BYTES + 17);
  const src = counted(bufferSource(bundle));
  await verifyBundleSource(src, { trusted, allowUnsigned: false });
  t.ok(Math.max(...src.reads) <= READ_BYTES, `largest read ${Math.max(...src.reads)} ≤ ${READ_BYTES}`);
  t.equal(await hashRange(bufferSource(bundle), 0, bundle.length), sha256Hex(bundle), 'hashRange = sha256 of the whole');
  t.equal(await hashRange(bufferSource(bundle), 0, bundle.length, 1000), sha256Hex(bundle), 'in any read size');
});

t.test('a tampered byte anywhere is refused with the code the in-memory check gives', async (t) => {
  const { bundle } = bigBundle(50_000);
  const entries = await readBundleEntries(bufferSource(bundle));
  const at = (name: string, delta: number) => entries.find((e) => e.name === name)!.offset + delta;
  const cases: [string, number, string][] = [
    ['model file, first byte', at('model.onnx', 0), 'HASH_MISMATCH'],
    ['model file, a byte past the first read', at('model.onnx', 4096 + 5), 'HASH_MISMATCH'],
    ['model file, last byte', at('model.onnx', 49_999), 'HASH_MISMATCH'],
    ['test vector', at('test-0.rgb', 3), 'HASH_MISMATCH'],
    ['manifest', at('model.json', 40), 'BAD_SIGNATURE'],
    ['header', 12, 'BAD_BUNDLE'],
  ];
  for (const [what, pos, code] of cases) {
    const bad = Buffer.from(bundle);
    bad[pos] ^= 0x20;
    await t.rejects(verifyBundleSource(bufferSource(bad), { trusted, allowUnsigned: false, readBytes: 4096 }), { code }, `${what}: ${code}`);
    t.throws(() => verifyBundle(decodeBundle(bad), { trusted, allowUnsigned: false }), { code }, `${what}: the same in memory`);
  }
  await t.rejects(verifyBundleSource(bufferSource(bundle.subarray(0, bundle.length - 10)), { trusted, allowUnsigned: false }), { code: 'BAD_BUNDLE' }, 'truncated');
  await t.rejects(verifyBundleSource(bufferSource(Buffer.from('MEB')), { trusted, allowUnsigned: false }), { code: 'BAD_BUNDLE' }, 'shorter than a header');
  await t.rejects(verifyBundleSource(bufferSource(bundle), { trusted: [], allowUnsigned: false }), { code: 'UNTRUSTED_KEY' });
  const huge = encodeBundle(variantFiles({ version: '2', key, edit: (m) => (m.training = { pad: 'x'.repeat(1024 * 1024) }) }));
  await t.rejects(verifyBundleSource(bufferSource(huge), { trusted, allowUnsigned: false }), { code: 'MANIFEST_INVALID' }, 'a manifest above 1 MiB is not read');
});

t.test('installed from the staged file: the same bytes; bytes changed after the check are not installed', async (t) => {
  const dir = t.testdir({});
  const { files, bundle } = bigBundle(200_000);
  const staged = join(dir, 'bundle.part');
  await writeFile(staged, bundle);
  const store = await ModelStore.open(join(dir, 'store'), { keep: 2 });
  const fh = await open(staged, 'r+');
  t.teardown(() => fh.close());
  const src: ByteSource = { size: bundle.length, read: (b, off, len, pos) => fh.read(b, off, len, pos) };
  const v = await verifyBundleSource(src, { trusted, allowUnsigned: false, readBytes: 8192 });
  const ref = { name: 'tiny', version: '2.0.0' };
  t.equal(await store.install(ref, v.files.map((f) => ('bytes' in f ? f : { ...f, src }))), 'installed');
  for (const f of files) t.same(await readFile(join(store.versionDir(ref), f.name)), f.bytes, `${f.name} installed byte for byte`);

  const other = bigBundle(200_000);
  await writeFile(staged, other.bundle);
  const src2: ByteSource = { size: other.bundle.length, read: (b, off, len, pos) => fh.read(b, off, len, pos) };
  const v2 = await verifyBundleSource(src2, { trusted, allowUnsigned: false });
  const onnx = (await readBundleEntries(src2)).find((e) => e.name === 'model.onnx')!;
  await fh.write(Buffer.from([other.bundle[onnx.offset + 100] ^ 1]), 0, 1, onnx.offset + 100); // changed after the check
  const ref2 = { name: 'tiny', version: '2.0.1' };
  await t.rejects(store.install(ref2, v2.files.map((f) => ('bytes' in f ? f : { ...f, src: src2 }))), { code: 'HASH_MISMATCH' });
  t.notOk(existsSync(store.versionDir(ref2)), 'nothing installed');
  t.notOk(await store.isInstalled(ref2));
});
