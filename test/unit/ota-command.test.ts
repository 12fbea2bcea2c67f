// Signed MQTT commands: signature, target, freshness window and nonce replay (deploy/ota/command.ts).
import t from 'tap';
import { checkCommand, ReplayWindow, signCommand } from '../../deploy/ota/command.js';
import { generateKeys, privateKeyFromPem, publicKeyFromPem, signManifest } from '../../models/signing.js';

const k = generateKeys();
const key = privateKeyFromPem(k.privatePem);
const trusted = [publicKeyFromPem(k.publicPem)];
const expect = { cmd: 'rollback' as const, site: 's', deviceId: 'd1' };
const now = 1_700_000_000_000;
const cmd = (over: Record<string, unknown> = {}, signer = key) => Buffer.from(signCommand({ cmd: 'rollback', site: 's', deviceId: 'd1', requestId: 'r1', ts: now, ...over } as never, signer));

t.test('a signed, fresh command for this device is accepted once; the same bytes again are a replay', async (t) => {
  const w = new ReplayWindow(60_000);
  const msg = cmd();
  const a = checkCommand(msg, expect, trusted, w, now + 1000);
  t.equal(a.ok, true);
  if (a.ok) t.equal(a.body.requestId, 'r1');
  const b = checkCommand(msg, expect, trusted, w, now + 2000);
  t.same([b.ok, !b.ok && b.code, !b.ok && b.requestId], [false, 'REPLAYED', 'r1']);
});

t.test('old and future timestamps are refused; nonces are forgotten only after the window', async (t) => {
  const w = new ReplayWindow(60_000, 30_000);
  const old = checkCommand(cmd({ ts: now - 61_000 }), expect, trusted, w, now);
  t.same([old.ok, !old.ok && old.code], [false, 'STALE_COMMAND']);
  const future = checkCommand(cmd({ ts: now + 31_000 }), expect, trusted, w, now);
  t.same([future.ok, !future.ok && future.code], [false, 'STALE_COMMAND']);
  t.equal(w.size, 0, 'refused commands leave no nonce behind');
  t.equal(checkCommand(cmd({ nonce: 'aa'.repeat(16) }), expect, trusted, w, now).ok, true);
  t.equal(w.size, 1);
  t.equal(checkCommand(cmd({ nonce: 'bb'.repeat(16) }), expect, trusted, w, now + 95_000).ok, false, 'stale by then anyway');
  t.equal(w.size, 0, 'expired nonces are pruned');
});

t.test('unsigned, untrusted, tampered, malformed and misaddressed commands are refused', async (t) => {
  const w = new ReplayWindow(60_000);
  const code = (p: Buffer | string) => {
    const r = checkCommand(Buffer.from(p), expect, trusted, w, now);
    return r.ok ? 'OK' : r.code;
  };
  t.equal(code(JSON.stringify({ requestId: 'r1' })), 'UNSIGNED', 'the old plain {requestId} form');
  const plain = checkCommand(Buffer.from(JSON.stringify({ requestId: 'r1' })), expect, trusted, w, now);
  t.equal(!plain.ok && plain.requestId, 'r1', 'the request id is kept so the refusal can be answered');
  t.equal(code(cmd({}, privateKeyFromPem(generateKeys().privatePem))), 'UNTRUSTED_KEY');
  const m = JSON.parse(cmd().toString());
  m.body = m.body.replace('"d1"', '"d2"');
  t.equal(code(JSON.stringify(m)), 'BAD_SIGNATURE', 'body changed after signing');
  t.equal(code('not json'), 'BAD_COMMAND');
  t.equal(code(cmd({ deviceId: 'd2' })), 'BAD_COMMAND', 'signed for another device');
  t.equal(code(cmd({ site: 'other' })), 'BAD_COMMAND', 'signed for another site');
  // a manifest signature over the same bytes does not verify as a command (domain separation)
  const body = JSON.parse(cmd().toString()).body;
  const ms = signManifest(Buffer.from(body), key);
  t.equal(code(JSON.stringify({ format: 'mobilenet-edge/command@1', body, keyId: ms.keyId, sig: ms.sig })), 'BAD_SIGNATURE');
  t.equal(w.size, 0, 'nothing refused was remembered');
});

t.test('the window survives a restart through entries(): a replay after it is still refused', async (t) => {
  const w = new ReplayWindow(60_000);
  const msg = cmd({ nonce: 'cc'.repeat(16) });
  t.equal(checkCommand(msg, expect, trusted, w, now + 1000).ok, true);
  checkCommand(cmd({ nonce: 'dd'.repeat(16), ts: now - 50_000 }), expect, trusted, w, now);
  const saved = JSON.parse(JSON.stringify(w.entries(now + 1000)));
  t.equal(saved.length, 2);
  const after = new ReplayWindow(60_000, 30_000, [...saved, ['bad'], 'junk', ['x', 'soon']]);
  t.equal(after.size, 2, 'malformed entries are skipped');
  const r = checkCommand(msg, expect, trusted, after, now + 5000);
  t.same([r.ok, !r.ok && r.code], [false, 'REPLAYED'], 'replayed after the restart: refused');
  t.same(after.entries(now + 45_000).map(([n]) => n), ['cc'.repeat(16)], 'entries past their window are not carried on');
});
