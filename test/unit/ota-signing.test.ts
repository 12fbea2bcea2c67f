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

t.test('key roles and k-of-n: model keys sign bundles, command keys commands', async (t) => {
  const { trustedKey } = await import('../../models/signing.js');
  const { checkCommand, ReplayWindow, signCommand } = await import('../../deploy/ota/command.js');
  const c = generateKeys();
  const cPriv = privateKeyFromPem(c.privatePem);
  const modelKey = trustedKey(aPub, ['model']);
  const commandKey = trustedKey(publicKeyFromPem(c.publicPem), ['command']);
  const second = trustedKey(publicKeyFromPem(b.publicPem), ['model']);
  const trusted = [modelKey, commandKey, second];
  const check = (key: Parameters<typeof variantFiles>[0]['key'], threshold = 1) => verifyBundle(decodeBundle(encodeBundle(variantFiles({ version: '2', key }))), { trusted, allowUnsigned: false, threshold });
  t.equal(check(aPriv).keyId, a.keyId, 'a model key signs bundles');
  t.throws(() => check(cPriv), { code: 'WRONG_KEY_ROLE' }, 'a command key cannot sign a bundle');
  t.throws(() => check(aPriv, 2), { code: 'THRESHOLD_NOT_MET' }, 'one signature where two are asked for');
  t.throws(() => check([aPriv, cPriv], 2), { code: 'THRESHOLD_NOT_MET' }, 'a command key does not count toward the threshold');
  t.same(check([aPriv, bPriv], 2).signers.map((k) => k.keyId).sort(), [a.keyId, b.keyId].sort(), 'two model keys: 2 of 3');
  const forged = variantFiles({ version: '2', key: [aPriv, bPriv] });
  const sigs = JSON.parse(forged.at(-1)!.bytes.toString());
  sigs[1].sig = sigs[0].sig;
  forged[forged.length - 1] = { name: 'model.json.sig', bytes: Buffer.from(JSON.stringify(sigs)) };
  t.throws(() => verifyBundle(decodeBundle(encodeBundle(forged)), { trusted, allowUnsigned: false, threshold: 1 }), { code: 'BAD_SIGNATURE' }, 'any bad signature by a trusted key fails the bundle');
  const w = new ReplayWindow(60_000);
  const expect = { cmd: 'rollback' as const, site: 's', deviceId: 'd' };
  const byModelKey = checkCommand(Buffer.from(signCommand({ cmd: 'rollback', site: 's', deviceId: 'd', requestId: 'r1' }, aPriv)), expect, trusted, w, Date.now());
  t.same([byModelKey.ok, !byModelKey.ok && byModelKey.code], [false, 'WRONG_KEY_ROLE'], 'a model key cannot sign a rollback');
  t.equal(checkCommand(Buffer.from(signCommand({ cmd: 'rollback', site: 's', deviceId: 'd', requestId: 'r2' }, cPriv)), expect, trusted, w, Date.now()).ok, true, 'a command key can');
  t.equal(w.size, 1, 'the refused command left no nonce');
});

t.test('rotation: add the new key, sign with both, then drop the old one', async (t) => {
  const { trustedKey } = await import('../../models/signing.js');
  const oldKey = trustedKey(aPub, ['model']);
  const newKey = trustedKey(publicKeyFromPem(b.publicPem), ['model']);
  const verify = (key: Parameters<typeof variantFiles>[0]['key'], trusted: ReturnType<typeof trustedKey>[]) => {
    try {
      return verifyBundle(decodeBundle(encodeBundle(variantFiles({ version: '2', key }))), { trusted, allowUnsigned: false }).signers.map((k) => k.keyId).join(',');
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  // 1. devices trust the old key only: new-key bundles are refused, dual-signed ones pass (by the old key)
  t.equal(verify(bPriv, [oldKey]), 'UNTRUSTED_KEY');
  t.equal(verify([aPriv, bPriv], [oldKey]), a.keyId);
  // 2. devices trust both: either works
  t.equal(verify(aPriv, [oldKey, newKey]), a.keyId);
  t.equal(verify(bPriv, [oldKey, newKey]), b.keyId);
  // 3. the old key removed: bundles it signed alone are refused
  t.equal(verify(aPriv, [newKey]), 'UNTRUSTED_KEY');
  t.equal(verify([aPriv, bPriv], [newKey]), b.keyId);
});
