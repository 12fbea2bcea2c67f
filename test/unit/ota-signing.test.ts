// Signatures and bundles: ed25519 over the manifest bytes, every file's sha256, structural checks.
import t from 'tap';
import { generateKeys, keyIdOf, privateKeyFromPem, publicKeyFromPem, signManifest, verifyManifest } from '../../models/signing.js';
import { decodeBundle, encodeBundle, verifyBundle, BUNDLE_MAGIC } from '../../models/bundle.js';
import { variantFiles, tinyOnnx } from '../helpers/ota-fixtures.js';

const a = generateKeys();
const b = generateKeys();
const aPriv = privateKeyFromPem(a.privatePem);
const aPub = publicKeyFromPem(a.publicPem);
const bPriv = privateKeyFromPem(b.privatePem);

t.test('keys: ed25519 PEM pair, stable key id from either half', async (t) => {
  t.match(a.privatePem, /BEGIN PRIVATE KEY/);
  t.match(a.publicPem, /BEGIN PUBLIC KEY/);
  t.match(a.keyId, /^[0-9a-f]{16}$/);
  t.equal(keyIdOf(aPriv), a.keyId);
  t.equal(keyIdOf(aPub), a.keyId);
  t.not(a.keyId, b.keyId);
  t.throws(() => publicKeyFromPem('nope'), { code: 'BAD_KEY' });
});

t.test('manifest signature: verifies, and each way it can fail has its code', async (t) => {
  const bytes = Buffer.from('{"name":"x"}');
  const sig = signManifest(bytes, aPriv);
  t.equal(verifyManifest(bytes, sig, [aPub]), a.keyId);
  t.throws(() => verifyManifest(bytes, null, [aPub]), { code: 'UNSIGNED' });
  t.throws(() => verifyManifest(bytes, sig, [publicKeyFromPem(b.publicPem)]), { code: 'UNTRUSTED_KEY' });
  t.throws(() => verifyManifest(Buffer.from('{"name":"y"}'), sig, [aPub]), { code: 'BAD_SIGNATURE' }, 'tampered after signing');
  const forged = { ...signManifest(bytes, bPriv), keyId: a.keyId };
  t.throws(() => verifyManifest(bytes, forged, [aPub]), { code: 'BAD_SIGNATURE' }, 'signed by another key under a trusted key id');
  t.throws(() => verifyManifest(bytes, { ...sig, sig: 'AAAA' }, [aPub]), { code: 'BAD_SIGNATURE' }, 'malformed');
});

t.test('bundle round trip and verification', async (t) => {
  const files = variantFiles({ version: '2.0.0', key: aPriv, tests: [['red', [255, 0, 0]]] });
  const buf = encodeBundle(files);
  const back = decodeBundle(buf);
  t.same(back.map((f) => f.name), ['model.json', 'model.onnx', 'test-0.rgb', 'model.json.sig']);
  const v = verifyBundle(back, { trusted: [aPub], allowUnsigned: false });
  t.equal(v.manifest.version, '2.0.0');
  t.equal(v.keyId, a.keyId);
  t.same(v.warnings, []);
  t.equal(v.manifest.tests![0].label, 'red');
});

t.test('bundle rejections', async (t) => {
  const trusted = [aPub];
  const check = (files: ReturnType<typeof variantFiles>, allowUnsigned = false) => verifyBundle(decodeBundle(encodeBundle(files)), { trusted, allowUnsigned });
  t.throws(() => check(variantFiles({ version: '2' })), { code: 'UNSIGNED' });
  t.throws(() => check(variantFiles({ version: '2', key: bPriv })), { code: 'UNTRUSTED_KEY' });
  const tampered = variantFiles({ version: '2', key: aPriv });
  tampered[0] = { name: 'model.json', bytes: Buffer.from(tampered[0].bytes.toString().replace('"red"', '"rot"')) };
  t.throws(() => check(tampered), { code: 'BAD_SIGNATURE' }, 'manifest edited after signing');
  t.throws(() => check(variantFiles({ version: '2', key: aPriv, edit: (m) => (m.sha256 = '0'.repeat(64)) })), { code: 'HASH_MISMATCH' }, 'manifest hash mismatch');
  const swapped = variantFiles({ version: '2', key: aPriv });
  swapped[1] = { name: 'model.onnx', bytes: tinyOnnx().subarray(0, 100) };
  t.throws(() => check(swapped), { code: 'HASH_MISMATCH' }, 'model file replaced after signing');
  const extra = [...variantFiles({ version: '2', key: aPriv }), { name: 'evil.sh', bytes: Buffer.from('x') }];
  t.throws(() => check(extra), { code: 'BAD_BUNDLE' }, 'a file the manifest does not name');
  t.throws(() => check(variantFiles({ version: '2', key: aPriv, edit: (m) => (m.file = '../../etc/passwd') })), { code: 'MANIFEST_INVALID' }, 'path traversal in the manifest');
  t.throws(() => check(variantFiles({ version: '../x', key: aPriv })), { code: 'MANIFEST_INVALID' }, 'path traversal in the version');
  const unsigned = check(variantFiles({ version: '2' }), true);
  t.match(unsigned.warnings[0], /allowUnsigned/, 'allowUnsigned lets an unsigned bundle through with a warning');
  t.throws(() => check(variantFiles({ version: '2', edit: (m) => (m.sha256 = '0'.repeat(64)) }), true), { code: 'HASH_MISMATCH' }, 'hashes are checked even with allowUnsigned');
});

t.test('bundle decoding: structure', async (t) => {
  const good = encodeBundle(variantFiles({ version: '2' }));
  t.throws(() => decodeBundle(Buffer.from('random bytes here')), { code: 'BAD_BUNDLE' });
  t.throws(() => decodeBundle(good.subarray(0, good.length - 10)), /truncated/);
  t.throws(() => decodeBundle(Buffer.concat([good, Buffer.from('x')])), /after its last file/);
  const header = (files: unknown) => {
    const h = Buffer.from(JSON.stringify({ format: 'mobilenet-edge/bundle@1', files }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h.length);
    return Buffer.concat([BUNDLE_MAGIC, len, h, Buffer.from('abc')]);
  };
  t.throws(() => decodeBundle(header([{ name: '../model.json', size: 3 }])), /path traversal/);
  t.throws(() => decodeBundle(header([{ name: '.hidden', size: 3 }])), /plain file name/);
  t.throws(() => decodeBundle(header([{ name: 'a', size: 1 }, { name: 'a', size: 2 }])), /twice/);
  t.throws(() => encodeBundle([{ name: 'a/b', bytes: Buffer.alloc(1) }]), { code: 'BAD_BUNDLE' });
});
