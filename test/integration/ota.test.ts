// OTA end to end on real parts: mosquitto, the built daemon (ffmpeg camera on a looped clip, tiny
// model, onnxruntime workers) and the built edgectl. Push → active, 0 unclassified frames, repeat =
// no-op, every bad input refused with the old model serving, rollback (operator and probation),
// local push, and a daemon SIGKILLed mid-activation comes back with a whole model.
import t from 'tap';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startCollector, waitFor, type Msg } from '../helpers/mqtt-collect.js';
import { variantBundle, variantFiles, tinyOnnx, type VariantOptions } from '../helpers/ota-fixtures.js';
import { privateKeyFromPem, generateKeys } from '../../models/signing.js';
import { BUNDLE_MAGIC, encodeBundle } from '../../models/bundle.js';
import { chunkBundle } from '../../deploy/ota/protocol.js';
import { pushToDevice } from '../../deploy/push.js';

const root = join(import.meta.dirname, '..', '..');
// edgectl's config and rollout record go into a folder of this test, not the user's home
const edgectlHome = join(import.meta.dirname, '..', '..', '.tap', 'ota-test-edgectl');
rmSync(edgectlHome, { recursive: true, force: true }); // a record left by a killed run must not block this one
const edgectl = (args: string[]) =>
  promisify(execFile)(process.execPath, [join(root, 'dist/deploy/edgectl.js'), ...args], { env: { ...process.env, EDGECTL_CONFIG: join(edgectlHome, 'config.json'), EDGECTL_STATE_DIR: edgectlHome } }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e) => ({ code: e.code as number, out: e.stdout as string, err: e.stderr as string }),
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('OTA over mosquitto', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const dir = t.testdir({});
  const keys = join(dir, 'keys');
  const kg = await edgectl(['keygen', '--out', keys]);
  t.equal(kg.code, 0, `keygen: ${kg.err}`);
  const key = privateKeyFromPem(readFileSync(join(keys, 'signing-key.pem'), 'utf8'));
  const stateDir = join(dir, 'state');
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      site: 'site',
      deviceId: 'edge-1',
      mqtt: { url: broker.url, qos: 1 },
      cameras: [{ id: 'cam1', url: `file://${join(root, 'models/demo/demo.mp4')}`, fps: 10, loop: true }],
      model: { path: join(root, 'test/fixtures/tiny/model.json') },
      // one worker: steps 7 and 7b act on "the" engine worker process
      engine: { backend: 'onnxruntime', executionProviders: ['cpu'], threads: 1, workers: 1 },
      log: { level: 'info' },
      ota: { enabled: true, stateDir, trustedKeys: [join(keys, 'signing-key.pub.pem')], maxBundleBytes: 100_000, transferTimeoutSec: 2, probationSec: 8, keepVersions: 2, localPollMs: 200 },
      // step 7b: an engine that answers errors must be rolled back by the error rate, not restarted
      watchdog: { errorStormCount: 100_000 },
    }),
  );
  let out = '';
  let daemon: ChildProcess;
  const startDaemon = () => {
    // the engine-errors hook (SIGUSR2 → the next inferences answer INFER_FAILED) is used in step 7b
    daemon = spawn(process.execPath, [join(root, 'dist/daemon/main.js'), '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOBILENET_EDGE_TEST_HOOKS: 'engine-errors' } });
    daemon.stdout!.on('data', (d) => (out = (out + d).slice(-100000)));
    daemon.stderr!.on('data', (d) => (out = (out + d).slice(-100000)));
  };
  t.teardown(() => void daemon.kill('SIGKILL'));
  /** The daemon's engine worker processes now. */
  const workerPids = () => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(daemon!.pid)]).toString().split('\n').filter((l) => l.includes('onnxruntime/worker')).map((l) => Number(l.trim().split(/\s+/)[0]));
  const results = startCollector(broker.url, 'site/cam1/mask', { timeoutMs: 300000, qos: 1 });
  await results.ready;
  startDaemon();
  const state = (pred: (s: any) => boolean, ms = 15000) => waitFor(broker.url, 'site/edge-1/model/state', (m: Msg) => pred(JSON.parse(m.payload)), ms).then((m) => JSON.parse(m.payload));
  const s0 = await state((s) => s.active?.version === '1.0.0');
  t.same(s0.previous, null, 'first start: the configured model is seeded into the store');
  const versionNow = async (v: string) => {
    const n = results.messages.length;
    const t0 = Date.now();
    while (Date.now() - t0 < 10000) {
      const fresh = results.messages.slice(n).map((m) => JSON.parse(m.payload));
      if (fresh.length >= 3) return fresh.every((r) => r.model.version === v) ? v : `mixed: ${fresh.map((r) => r.model.version)}`;
      await sleep(100);
    }
    return 'no results';
  };
  t.equal(await versionNow('1.0.0'), '1.0.0', 'results flow on 1.0.0');

  // 1. edgectl push: signed, with test vectors
  const v2dir = join(dir, 'v2');
  mkdirSync(v2dir);
  for (const f of variantFiles({ version: '2.0.0', labels: ['rouge', 'bleu'], tests: [['rouge', [255, 0, 0]]] })) writeFileSync(join(v2dir, f.name), f.bytes);
  const t0 = Date.now();
  const push = await edgectl(['push', join(v2dir, 'model.onnx'), '--manifest', join(v2dir, 'model.json'), '--device', 'edge-1', '--broker', broker.url, '--key', join(keys, 'signing-key.pem'), '--chunk-kb', '1', '--timeout', '30']);
  t.equal(push.code, 0, `push exits 0:\n${push.out}\n${push.err}\n${out.slice(-3000)}`);
  t.match(push.out, /edge-1\s+wave 1\s+tiny@1\.0\.0\s+tiny@2\.0\.0\s+ACTIVE/);
  t.match(push.err, /edge-1 \[wave 1\]: received \d+ chunks, bundle hash OK/, 'progress per device, as the device reports it');
  t.comment(`active ${Date.now() - t0} ms after edgectl started (speed belongs in the bench; this machine may be loaded)`);
  const s2 = await state((s) => s.active?.version === '2.0.0');
  t.equal(s2.previous.version, '1.0.0');
  t.equal(s2.lastPush.code, 'OK');
  t.ok(s2.probationUntil, 'on probation');
  t.equal(await versionNow('2.0.0'), '2.0.0', 'results now come from 2.0.0');

  // 2. the same push again is a no-op
  const again = await edgectl(['push', join(v2dir, 'model.onnx'), '--manifest', join(v2dir, 'model.json'), '--device', 'edge-1', '--broker', broker.url, '--key', join(keys, 'signing-key.pem')]);
  t.equal(again.code, 0);
  t.match(again.out, /ALREADY_ACTIVE/);

  // 3. bad inputs, each refused with 2.0.0 still serving
  const client = await mqtt.connectAsync(broker.url);
  t.teardown(() => client.endAsync());
  const send = (bundle: Buffer, chunkBytes = 512) => pushToDevice(client, { site: 'site', device: 'edge-1', bundle, chunkBytes, timeoutMs: 15000 });
  const other = privateKeyFromPem(generateKeys().privatePem);
  const tampered = variantFiles({ version: '3', key });
  tampered[0] = { name: 'model.json', bytes: Buffer.from(tampered[0].bytes.toString().replace('"red"', '"rot"')) };
  const rawHeader = (files: { name: string; size: number }[], body: Buffer) => {
    const h = Buffer.from(JSON.stringify({ format: 'mobilenet-edge/bundle@1', files }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h.length);
    return Buffer.concat([BUNDLE_MAGIC, len, h, body]);
  };
  const signed = (o: VariantOptions) => variantBundle({ ...o, key });
  const bad: [string, Buffer, string][] = [
    ['unsigned', variantBundle({ version: '3' }), 'UNSIGNED'],
    ['untrusted key', variantBundle({ version: '3', key: other }), 'UNTRUSTED_KEY'],
    ['tampered after signing', encodeBundle(tampered), 'BAD_SIGNATURE'],
    ['manifest hash mismatch', signed({ version: '3', edit: (m) => (m.sha256 = 'a'.repeat(64)) }), 'HASH_MISMATCH'],
    ['truncated ONNX', signed({ version: '3', onnx: tinyOnnx().subarray(0, 150) }), 'LOAD_FAILED'],
    ['random bytes as .onnx', signed({ version: '3', onnx: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 256)) }), 'LOAD_FAILED'],
    ['wrong input shape', signed({ version: '3', edit: (m) => (m.input.layout = 'NHWC') }), 'LOAD_FAILED'],
    ['wrong label count', signed({ version: '3', labels: ['a', 'b', 'c'] }), 'LOAD_FAILED'],
    ['failing test vector', signed({ version: '3', tests: [['blue', [255, 0, 0]]] }), 'TEST_VECTOR_FAILED'],
    ['oversized bundle', signed({ version: '3', tests: [['red', [255, 0, 0]]], edit: (m) => (m.training = { pad: 'x'.repeat(120_000) }) }), 'TOO_LARGE'],
    ['path traversal in a file name', rawHeader([{ name: '../../evil', size: 3 }], Buffer.from('abc')), 'BAD_BUNDLE'],
    ['path traversal in the manifest', signed({ version: '3', edit: (m) => (m.file = '../model.onnx') }), 'MANIFEST_INVALID'],
    ['random bytes as a bundle', Buffer.from('this is not a bundle at all'), 'BAD_BUNDLE'],
  ];
  for (const [what, bundle, code] of bad) {
    const r = await send(bundle);
    t.equal(r.code, code, `${what}: ${r.code} (${r.message})`);
    t.notOk(r.ok);
    t.equal(r.result?.active?.version, '2.0.0', `${what}: 2.0.0 still active`);
  }
  t.equal(await versionNow('2.0.0'), '2.0.0', 'results still come from 2.0.0 after the bad pushes');

  // 4. chunk order: out of order and duplicated chunks are reassembled (QoS 1 is at-least-once);
  //    a chunk repeated with other bytes, and a missing chunk, fail the transfer
  const v3 = signed({ version: '3.0.0' });
  const raw = async (id: string, msgs: Buffer[]) => {
    const res = waitFor(broker.url, `site/edge-1/model/result/${id}`, () => true, 15000);
    await sleep(300);
    for (const m of msgs) await client.publishAsync('site/edge-1/model/push', m, { qos: 1 });
    return JSON.parse((await res).payload);
  };
  const c3 = chunkBundle(v3, 'order-1', 300);
  t.ok(c3.length >= 4);
  const shuffled = [c3[2], c3[0], c3[0], ...c3.slice(3).reverse(), c3[1], c3[2]];
  const r3 = await raw('order-1', shuffled);
  t.equal(r3.code, 'OK', `out of order + duplicates: ${r3.message}`);
  const conflict = chunkBundle(v3, 'dup-1', 300);
  const evil = chunkBundle(signed({ version: '3.0.1' }), 'dup-1', 300)[0];
  t.equal((await raw('dup-1', [conflict[0], evil])).code, 'BAD_CHUNK', 'a chunk repeated with other bytes');
  const missing = chunkBundle(signed({ version: '3.0.2' }), 'miss-1', 300);
  const rm1 = await raw('miss-1', [missing[0], ...missing.slice(2)]);
  t.equal(rm1.code, 'TRANSFER_TIMEOUT', `missing chunk: ${rm1.message}`);
  t.equal(rm1.active.version, '3.0.0');
  t.same(execFileSync('ls', [join(stateDir, 'staging')]).toString(), '', 'staging cleaned up');

  // 5. two pushes at once: one wins, the other is told BUSY
  const [a, b] = await Promise.all([send(signed({ version: '4.0.0' }), 200), send(signed({ version: '4.0.1' }), 200)]);
  t.same([a.code, b.code].sort(), ['BUSY', 'OK'], `two pushes at once: ${a.code}, ${b.code}`);

  // 6. operator rollback: an unsigned command is refused (model unchanged), a signed one works,
  // and the same signed message sent again (a replay) is refused with the model unchanged.
  const activeBefore: string = (await state(() => true)).active.version;
  t.match(activeBefore, /^4\.0\.[01]$/, 'one of the two concurrent pushes is active');
  const unsigned = await edgectl(['rollback', '--device', 'edge-1', '--broker', broker.url, '--timeout', '10']);
  t.equal(unsigned.code, 1, unsigned.out + unsigned.err);
  t.match(unsigned.out, /UNSIGNED/);
  t.equal(await versionNow(activeBefore), activeBefore, 'unsigned rollback refused: the active model is unchanged');
  const sniff = await mqtt.connectAsync(broker.url);
  const captured: Buffer[] = [];
  sniff.on('message', (_t, p) => captured.push(p));
  await sniff.subscribeAsync('site/edge-1/model/rollback', { qos: 1 });
  const rb = await edgectl(['rollback', '--device', 'edge-1', '--broker', broker.url, '--key', join(keys, 'signing-key.pem')]);
  t.equal(rb.code, 0, rb.out + rb.err);
  t.match(rb.out, /ROLLED_BACK/);
  t.equal(await versionNow('3.0.0'), '3.0.0', 'serving the previous version after rollback');
  const signedMsg = captured.find((p) => p.toString().includes('"sig"'));
  t.ok(signedMsg, 'the signed rollback command was seen on the topic');
  const replayResult = new Promise<string>((res) => sniff.on('message', (topic, p) => topic.includes('/model/result/') && res(JSON.parse(p.toString()).code)));
  await sniff.subscribeAsync('site/edge-1/model/result/+', { qos: 1 });
  await sniff.publishAsync('site/edge-1/model/rollback', signedMsg!, { qos: 1 });
  t.equal(await replayResult, 'REPLAYED', 'a replayed rollback command is refused');
  t.equal(await versionNow('3.0.0'), '3.0.0', 'still 3.0.0 after the replay');
  await sniff.endAsync();
  const models = await edgectl(['models', '--device', 'edge-1', '--broker', broker.url]);
  t.match(models.out, /tiny@3\.0\.0\s+active/);
  const st = await edgectl(['status', '--broker', broker.url]);
  t.match(st.out, /edge-1\s+tiny@3\.0\.0/);

  // 7. probation: the new model's engine crashes → automatic rollback, reported on the state topic
  t.equal((await send(signed({ version: '5.0.0' }))).code, 'OK');
  const pids = workerPids();
  t.equal(pids.length, 1, 'one engine worker after the swap (the old one has exited)');
  process.kill(pids[0], 'SIGKILL');
  const s5 = await state((s) => s.lastRollback?.from?.version === '5.0.0');
  t.equal(s5.active.version, '3.0.0', 'rolled back to 3.0.0');
  t.match(s5.lastRollback.reason, /engine crashed during probation/);
  t.equal(await versionNow('3.0.0'), '3.0.0');

  // 7b. probation: the new model's engine runs but answers errors → rolled back by the error rate
  t.equal((await send(signed({ version: '5.1.0' }))).code, 'OK');
  const w51 = workerPids();
  t.equal(w51.length, 1, 'one engine worker after the swap');
  process.kill(w51[0], 'SIGUSR2');
  const s7b = await state((s) => s.lastRollback?.from?.version === '5.1.0');
  t.equal(s7b.active.version, '3.0.0', 'rolled back to 3.0.0');
  t.match(s7b.lastRollback.reason, /error rate \d\.\d\d over \d+ frames exceeds ota\.probationMaxErrorRate 0\.2 during probation/);
  t.equal(await versionNow('3.0.0'), '3.0.0');

  // 8. local push through the daemon's inbox
  const v6dir = join(dir, 'v6');
  mkdirSync(v6dir);
  for (const f of variantFiles({ version: '6.0.0' })) writeFileSync(join(v6dir, f.name), f.bytes);
  const local = await edgectl(['push', join(v6dir, 'model.onnx'), '--manifest', join(v6dir, 'model.json'), '--local', '--state-dir', stateDir, '--key', join(keys, 'signing-key.pem'), '--timeout', '20']);
  t.equal(local.code, 0, local.out + local.err);
  t.match(local.out, /local\s+OK/);
  t.equal(await versionNow('6.0.0'), '6.0.0');

  // 9. daemon SIGKILLed mid-activation: it comes back with 6.0.0 or 7.0.0, whole, and serves
  const v7 = send(signed({ version: '7.0.0' }));
  await waitFor(broker.url, 'site/edge-1/model/state', () => true, 100).catch(() => undefined);
  const t9 = Date.now();
  while (!/ota transfer started/.test(out.slice(-5000)) && Date.now() - t9 < 5000) await sleep(5);
  await sleep(150);
  daemon!.kill('SIGKILL');
  await v7;
  startDaemon();
  const s9 = await state((s) => ['6.0.0', '7.0.0'].includes(s.active?.version) && s.lastPush === null, 20000);
  t.comment(`after SIGKILL mid-activation: ${s9.active.version} active`);
  t.ok(['6.0.0', '7.0.0'].includes(await versionNow(s9.active.version)), 'the daemon serves a whole model after the crash');
  t.same(readFileSync(join(stateDir, 'store.json'), 'utf8').includes(s9.active.version), true);
  await results.close();
});
