// Updates that cannot be turned against the device (issue 16), end to end over a TLS + password + ACL
// mosquitto: the built daemon (edge-1, group "lobby") with keys in roles (model, command, downgrade),
// attacked by whoever holds the operator's broker account. Every attack ends with a named refusal and
// the old model serving: downgrade, replayed bundles, wrong target, expired, wrong key role, missing
// metadata, an oversized chunk and packet, a flood of junk, a trickled transfer (a real push gets
// through after the deadline), the NaN and the slow model (rolled back by probation), a restart during probation (resumed),
// repeated failed boots and a failed load at start (fall back), and a rolled-back version never offered again.
import t from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startCollector, waitFor, type Msg } from '../helpers/mqtt-collect.js';
import { tinyOnnx, variantBundle, type VariantOptions } from '../helpers/ota-fixtures.js';
import { nanModel, slowModel } from '../helpers/onnx-variants.js';
import { mosquittoAcl } from '../../deploy/mosquitto-acl.js';
import { chunkBundle, encodeChunk } from '../../deploy/ota/protocol.js';
import { requestRollback } from '../../deploy/ota/fleet.js';
import { pushToDevice } from '../../deploy/push.js';
import { generateKeys, privateKeyFromPem } from '../../models/signing.js';

const root = join(import.meta.dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('OTA attacks over TLS + ACL mosquitto', async (t) => {
  const dir = t.testdir({});
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=site-ca');
  ssl('req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=broker');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  const PASS = { edgectl: 'operator-pass-123', 'edge-1': 'edge1-pass-456', 'edge-2': 'edge2-pass-789' };
  execFileSync('mosquitto_passwd', ['-c', '-b', f('passwd'), 'edgectl', PASS.edgectl]);
  for (const u of ['edge-1', 'edge-2'] as const) execFileSync('mosquitto_passwd', ['-b', f('passwd'), u, PASS[u]]);
  writeFileSync(f('acl'), mosquittoAcl({ site: 'site', devices: [{ deviceId: 'edge-1', cameras: ['cam1'] }, { deviceId: 'edge-2', cameras: ['cam2'] }] }));
  const broker = await startMosquitto({ extraConfig: [`cafile ${f('ca.pem')}`, `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`, 'allow_anonymous false', `password_file ${f('passwd')}`, `acl_file ${f('acl')}`] });
  t.teardown(() => broker.stop());
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const tls = { ca: [readFileSync(f('ca.pem'))], username: 'edgectl', password: PASS.edgectl, protocolVersion: 5 as const };

  // keys in roles: model bundles, operator commands, going back a version
  const pair = (name: string) => {
    const k = generateKeys();
    writeFileSync(f(`${name}.pub.pem`), k.publicPem);
    return privateKeyFromPem(k.privatePem);
  };
  const modelKey = pair('model');
  const commandKey = pair('command');
  const downgradeKey = pair('downgrade');
  const strangerKey = privateKeyFromPem(generateKeys().privatePem);
  const stateDir = f('state');
  const cfg = f('config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      site: 'site',
      deviceId: 'edge-1',
      groups: ['lobby'],
      mqtt: { url, username: 'edge-1', password: PASS['edge-1'], caFile: f('ca.pem'), qos: 1 },
      // classify mode: every frame is one reading of the model, for probation's NaN and latency checks
      cameras: [{ id: 'cam1', url: `file://${join(root, 'models/demo/demo.mp4')}`, fps: 10, loop: true, mode: 'classify' }],
      model: { path: join(root, 'test/fixtures/tiny/model.json') },
      engine: { backend: 'onnxruntime', executionProviders: ['cpu'], threads: 1, workers: 1 },
      ota: {
        enabled: true,
        stateDir,
        trustedKeys: [{ key: f('model.pub.pem'), roles: ['model'] }, { key: f('command.pub.pem'), roles: ['command'] }, { key: f('downgrade.pub.pem'), roles: ['downgrade'] }],
        maxBundleBytes: 2_000_000,
        maxChunkBytes: 4096,
        transferTimeoutSec: 3,
        transferDeadlineSec: 8,
        probationSec: 60,
        probationMinFrames: 10,
        probationMaxBoots: 3,
        keepVersions: 3,
        localPollMs: 200,
      },
    }),
  );
  chmodSync(cfg, 0o600); // it holds a password
  let out = '';
  let daemon: ChildProcess;
  const startDaemon = () => {
    daemon = spawn(process.execPath, [join(root, 'dist/daemon/main.js'), '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (d) => (out = (out + d).slice(-200000)));
    daemon.stderr!.on('data', (d) => (out = (out + d).slice(-200000)));
  };
  const stopDaemon = async (signal: NodeJS.Signals) => {
    const d = daemon!;
    if (d.exitCode !== null || d.signalCode !== null) return;
    const gone = new Promise((r) => d.once('exit', r));
    d.kill(signal);
    await gone;
  };
  t.teardown(() => stopDaemon('SIGKILL'));
  const workerPids = () => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(daemon!.pid)]).toString().split('\n').filter((l) => l.includes('onnxruntime/worker')).map((l) => Number(l.trim().split(/\s+/)[0]));

  // every state the device publishes: `previous` must never be a version marked bad
  const states = startCollector(url, 'site/edge-1/model/state', { timeoutMs: 900_000, qos: 1, clientOptions: tls });
  const results = startCollector(url, ['site/cam1/mask', 'site/edge-1/model/result/+'], { timeoutMs: 900_000, qos: 1, clientOptions: tls });
  await Promise.all([states.ready, results.ready]);
  t.teardown(() => Promise.all([states.close(), results.close()]));
  startDaemon();
  const state = (pred: (s: any) => boolean, ms = 30000) => waitFor(url, 'site/edge-1/model/state', (m: Msg) => pred(JSON.parse(m.payload)), ms, tls).then((m) => JSON.parse(m.payload));
  const versionNow = async (v: string) => {
    const n = results.messages.length;
    const t0 = Date.now();
    while (Date.now() - t0 < 15000) {
      const fresh = results.messages.slice(n).filter((m) => m.topic === 'site/cam1/mask').map((m) => JSON.parse(m.payload));
      if (fresh.length >= 3) return fresh.every((r) => r.model.version === v) ? v : `mixed: ${fresh.map((r) => r.model.version)}`;
      await sleep(100);
    }
    return 'no results';
  };
  await state((s) => s.active?.version === '1.0.0' && s.groups?.includes('lobby'));
  const op = await mqtt.connectAsync(url, { ...tls, reconnectPeriod: 1000 });
  t.teardown(() => op.endAsync());
  const send = (bundle: Buffer, chunkBytes = 2048, transferId?: string) => pushToDevice(op, { site: 'site', device: 'edge-1', bundle, chunkBytes, timeoutMs: 20000, ...(transferId ? { transferId } : {}) });
  const signed = (o: VariantOptions) => variantBundle({ key: modelKey, ...o, update: { targets: { site: 'site', devices: ['edge-1'] }, ...o.update } });
  const ok = async (what: string, bundle: Buffer, version: string) => {
    const r = await send(bundle);
    t.equal(r.code, 'OK', `${what}: ${r.message}`);
    t.equal(await versionNow(version), version, `${what}: ${version} serves`);
  };

  // 1. two real pushes; their bundles are captured for the replays
  const b200 = signed({ version: '2.0.0' });
  await ok('push 2.0.0', b200, '2.0.0');
  const b210 = signed({ version: '2.1.0' });
  await ok('push 2.1.0', b210, '2.1.0');

  // 2. attacks on the bundle and its metadata: named refusal, 2.1.0 still serving
  const past = new Date(Date.now() - 1000).toISOString();
  const attacks: [string, Buffer, string][] = [
    ['downgrade to an older version', signed({ version: '2.0.5' }), 'DOWNGRADE'],
    ['replay of an old bundle (2.0.0, under a new transfer id)', b200, 'STALE_SEQUENCE'],
    ['replay of the active bundle', b210, 'STALE_SEQUENCE'],
    ['a bundle for edge-2 (captured on its way there)', signed({ version: '2.2.0', update: { targets: { site: 'site', devices: ['edge-2'] } } }), 'WRONG_TARGET'],
    ['a bundle for another site', signed({ version: '2.2.0', update: { targets: { site: 'other' } } }), 'WRONG_TARGET'],
    ['a bundle for another group', signed({ version: '2.2.0', update: { targets: { site: 'site', groups: ['gate'] } } }), 'WRONG_TARGET'],
    ['expired', signed({ version: '2.2.0', update: { expires: past } }), 'EXPIRED'],
    ['signed by a command key', signed({ version: '2.2.0', key: commandKey }), 'WRONG_KEY_ROLE'],
    ['allowDowngrade signed by a model key only', signed({ version: '2.0.5', update: { allowDowngrade: true } }), 'WRONG_KEY_ROLE'],
    ['signed by an unknown key', signed({ version: '2.2.0', key: strangerKey }), 'UNTRUSTED_KEY'],
    ['unsigned', variantBundle({ version: '2.2.0' }), 'UNSIGNED'],
    ['signed without update metadata', variantBundle({ version: '2.2.0', key: modelKey, update: null }), 'METADATA_MISSING'],
  ];
  for (const [what, bundle, code] of attacks) {
    const r = await send(bundle);
    t.equal(r.code, code, `${what}: ${r.code} (${r.message})`);
    t.equal(r.result?.active?.version, '2.1.0', `${what}: 2.1.0 still active`);
  }
  const big = await send(signed({ version: '2.2.0', edit: (m) => (m.training = { pad: 'x'.repeat(20_000) }) }), 8192);
  t.equal(big.code, 'TOO_LARGE', `a chunk above ota.maxChunkBytes: ${big.message}`);
  const byModelKey = await requestRollback(op, 'site', 'edge-1', 10000, modelKey);
  t.equal(byModelKey.code, 'WRONG_KEY_ROLE', `a rollback command signed by a model key: ${byModelKey.message}`);
  t.equal(await versionNow('2.1.0'), '2.1.0', 'after every attack 2.1.0 still serves');

  // 3. going back on purpose: allowDowngrade signed by a model key and a downgrade key; then a group push
  await ok('a signed downgrade to 2.0.5', variantBundle({ version: '2.0.5', key: [modelKey, downgradeKey], update: { allowDowngrade: true, targets: { site: 'site', devices: ['edge-1'] } } }), '2.0.5');
  await ok('a push to group lobby', variantBundle({ version: '2.2.0', key: modelKey, update: { targets: { site: 'site', groups: ['lobby'] } } }), '2.2.0');

  // 4. an oversized packet never reaches the device (MQTT maximum packet size), a flood of junk
  //    chunks is answered without rewriting the retained state; a real push still gets through
  const statesBefore = states.messages.length;
  const huge = chunkBundle(Buffer.alloc(200_000, 7), 'huge-1', 100_000)[0];
  await op.publishAsync('site/edge-1/model/push', huge, { qos: 1 });
  for (let i = 0; i < 100; i++) await op.publishAsync('site/edge-1/model/push', encodeChunk({ transferId: `junk-${i}`, index: 0, count: 1, size: 3, chunkSize: 3, sha256: '0'.repeat(64), bundleSha256: '0'.repeat(64) }, Buffer.from('abc')), { qos: 1 });
  const junkDone = () => results.messages.filter((m) => m.topic.startsWith('site/edge-1/model/result/junk-')).length;
  for (let i = 0; i < 200 && junkDone() < 100; i++) await sleep(100);
  t.equal(junkDone(), 100, 'every junk transfer answered (BAD_CHUNK)');
  t.equal(states.messages.length, statesBefore, 'the flood did not rewrite the retained state');
  t.equal(await versionNow('2.2.0'), '2.2.0', 'after the oversized packet and the flood 2.2.0 still serves');
  await ok('a push after the oversized packet and the flood', signed({ version: '2.3.0' }), '2.3.0');
  t.notOk(results.messages.some((m) => m.topic.endsWith('/huge-1')), 'the oversized packet was never delivered to the device');
  t.notMatch(out, /mqtt connection lost/, 'the device stayed connected');

  // 5. a trickled transfer (one chunk a second, never chunk 0) holds the slot only until the deadline
  const trickle = chunkBundle(signed({ version: '2.9.0' }), 'trickle-1', 200);
  let trickling = true;
  const trickler = (async () => {
    for (let i = 1; i < trickle.length && trickling; i++) {
      await op.publishAsync('site/edge-1/model/push', trickle[i], { qos: 1 });
      await sleep(1000);
    }
  })();
  const tTrickle = Date.now();
  await sleep(1500);
  const b240 = signed({ version: '2.4.0' });
  const codes: string[] = [];
  for (;;) {
    const r = await send(b240, 2048, `real-${codes.length}`);
    codes.push(r.code);
    if (r.code !== 'BUSY' || Date.now() - tTrickle > 30000) break;
    await sleep(1000);
  }
  trickling = false;
  await trickler;
  t.equal(codes[0], 'BUSY', 'the trickle held the slot at first');
  const firstBusy = results.messages.find((m) => m.topic.endsWith('/real-0'));
  t.match(firstBusy && JSON.parse(firstBusy.payload).message, /another push \(trickle-1\) is in progress/, 'held by the trickle');
  t.equal(codes.at(-1), 'OK', `then the real push got through: ${codes.join(', ')}`);
  t.ok(Date.now() - tTrickle < 8000 + 10000, `within the deadline (8 s) and a retry: ${Date.now() - tTrickle} ms`);
  const trickleResult = results.messages.find((m) => m.topic.endsWith('/trickle-1'));
  t.equal(trickleResult && JSON.parse(trickleResult.payload).code, 'TRANSFER_DEADLINE', 'the trickle ended with TRANSFER_DEADLINE');
  t.equal(trickleResult && JSON.parse(trickleResult.payload).active?.version, '2.3.0', 'while the trickle held the slot, 2.3.0 served');
  t.equal(await versionNow('2.4.0'), '2.4.0');

  // 6. models that load and pass their checks but are bad: probation rolls them back
  t.equal((await send(signed({ version: '3.0.0', onnx: nanModel(tinyOnnx()) }))).code, 'OK', 'the NaN model passes the load checks');
  const sNan = await state((s) => s.lastRollback?.from?.version === '3.0.0');
  t.equal(sNan.active.version, '2.4.0', 'NaN model rolled back');
  t.match(sNan.lastRollback.reason, /non-finite \(NaN\/Inf\) results/);
  t.equal(await versionNow('2.4.0'), '2.4.0');
  // the slow model: same outputs, ≈ 17 G flops per inference (≈ 0.1 s on a fast core, far more under
  // load) against the tiny model's ≈ 0.05 ms: its median is far above the previous model's + 20 ms
  // (ota.probationLatencyMinMs, default). The verdict comes at the latest when the trial ends
  // (probationSec 60: judged then on whatever timed results there are), so the wait is bounded by it.
  t.equal((await send(signed({ version: '3.1.0', onnx: slowModel(tinyOnnx()) }))).code, 'OK', 'the slow model passes the load checks');
  const sSlow = await state((s) => s.lastRollback?.from?.version === '3.1.0', 90_000);
  t.equal(sSlow.active.version, '2.4.0', 'slow model rolled back');
  t.match(sSlow.lastRollback.reason, /median inference [\d.]+ ms over \d+ results is above [\d.]+ ms \(the previous model's/, `the latency verdict: ${sSlow.lastRollback.reason}`);
  t.equal(await versionNow('2.4.0'), '2.4.0');

  // 7. a rolled-back version is never offered again: not previous, not a rollback target, not reinstalled
  t.same(sSlow.bad.map((b: any) => b.version).sort(), ['3.0.0', '3.1.0']);
  t.equal(sSlow.previous.version, '2.3.0', 'previous skips the bad versions');
  const again = await send(signed({ version: '3.0.0', onnx: nanModel(tinyOnnx()) }));
  t.equal(again.code, 'MARKED_BAD', `the NaN model pushed again: ${again.message}`);
  const rb = await requestRollback(op, 'site', 'edge-1', 15000, commandKey);
  t.equal(rb.code, 'ROLLED_BACK', rb.message);
  t.equal(rb.result?.active?.version, '2.3.0', 'operator rollback goes to a good version');
  t.equal(await versionNow('2.3.0'), '2.3.0');

  // 8. a restart during probation resumes it (same deadline, boots counted, still watching)
  const pushed4 = await send(signed({ version: '4.0.0' }));
  t.equal(pushed4.code, 'OK');
  const s4 = await state((s) => s.probation?.model?.version === '4.0.0');
  await stopDaemon('SIGTERM');
  startDaemon();
  const s4b = await state((s) => s.probation?.model?.version === '4.0.0' && s.probation.boots === 1);
  t.equal(s4b.probation.until, s4.probation.until, 'the same trial, resumed');
  t.equal(await versionNow('4.0.0'), '4.0.0');
  process.kill(workerPids()[0], 'SIGKILL');
  const s4c = await state((s) => s.lastRollback?.from?.version === '4.0.0');
  t.match(s4c.lastRollback.reason, /engine crashed during probation/, 'the resumed trial still judges');
  t.equal(s4c.active.version, '2.3.0');

  // 9. three failed boots during probation: the third start falls back to the last good version
  t.equal((await send(signed({ version: '5.0.0' }))).code, 'OK');
  await state((s) => s.probation?.model?.version === '5.0.0');
  for (const boots of [1, 2]) {
    await stopDaemon('SIGKILL');
    startDaemon();
    await state((s) => s.probation?.model?.version === '5.0.0' && s.probation.boots === boots);
  }
  await stopDaemon('SIGKILL');
  startDaemon();
  const s5 = await state((s) => s.lastRollback?.from?.version === '5.0.0');
  t.equal(s5.active.version, '2.3.0', 'fell back');
  t.match(s5.lastRollback.reason, /started 3 times during tiny 5\.0\.0's probation/);
  t.equal(await versionNow('2.3.0'), '2.3.0');

  // 10. the active model fails to load at start: fall back instead of exiting
  t.equal((await send(signed({ version: '6.0.0' }))).code, 'OK');
  await stopDaemon('SIGTERM');
  truncateSync(join(stateDir, 'models', 'tiny', '6.0.0', 'model.onnx'), 100);
  startDaemon();
  const s6 = await state((s) => s.lastRollback?.from?.version === '6.0.0');
  t.equal(s6.active.version, '2.3.0');
  t.match(s6.lastRollback.reason, /6\.0\.0 failed to load at start/);
  t.equal(await versionNow('2.3.0'), '2.3.0');
  t.same(s6.bad.map((b: any) => b.version).sort(), ['2.4.0', '3.0.0', '3.1.0', '4.0.0', '5.0.0', '6.0.0']);

  const all = states.messages.map((m) => JSON.parse(m.payload));
  const offenders = all.filter((s) => s.previous && s.bad?.some((b: any) => b.version === s.previous.version));
  t.same(offenders, [], `no state of ${all.length} names a bad version as previous`);
});
