// edgectl on the operator's side of a small fleet, end to end: mosquitto, three built daemons
// (classify mode on the looped demo clip, tiny model, one engine worker each, short probation),
// and the built edgectl run as a user runs it after `edgectl init` (its config and rollout record
// in the test folder). A model that fails probation stops at the canary (which rolls back by
// itself) and the two others keep their model; `edgectl push model.onnx` as typed reaches all
// three; a model described only by its ONNX metadata needs --version; an interrupted rollout shows
// in `edgectl status` and resumes; an aborted one rolls its devices back.
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitFor, type Msg } from '../helpers/mqtt-collect.js';
import { ROOT, startDaemon, DEMO_CLIP_URL } from '../helpers/daemon.js';
import { tinyOnnx, variantFiles } from '../helpers/ota-fixtures.js';
import { metadataProps, withMetadataProps } from '../../models/onnx-metadata.js';
import { privateKeyFromPem } from '../../models/signing.js';

const DEVICES = ['edge-a', 'edge-b', 'edge-c'];
// three daemons on a shared 2-core machine start slowly: every wait below is on a condition, and the
// file may take longer than tap's default 300 s when the machine is loaded
t.setTimeout(900_000);

t.test('staged rollouts with edgectl against three daemons', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const dir = t.testdir({});
  const env = { ...process.env, EDGECTL_CONFIG: join(dir, 'edgectl', 'config.json'), EDGECTL_STATE_DIR: join(dir, 'edgectl-state'), MOBILENET_EDGE_MQTT_URL: '' };
  /** The built edgectl; `onErr` sees stderr as it comes (to interrupt a rollout at a chosen point). */
  const edgectl = (args: string[], onErr?: (all: string, kill: (s: NodeJS.Signals) => void) => void) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, [join(ROOT, 'dist/deploy/edgectl.js'), ...args], { env, cwd: dir });
      let out = '', err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => {
        err += d;
        onErr?.(err, (s) => p.kill(s));
      });
      p.on('exit', (code) => resolve({ code, out, err }));
    });

  const T0 = Date.now();
  const lap = (what: string) => t.comment(`${what}: ${((Date.now() - T0) / 1000).toFixed(1)} s`);
  // init writes the profile and makes the signing key; the devices trust its public key
  const init = await edgectl(['init', '--broker', broker.url, '--site', 'lab', '--probation-grace', '5']);
  t.equal(init.code, 64, 'an unknown init option is a usage error');
  t.match(init.err, /^edgectl init: Unknown option '--probation-grace'/);
  t.match(init.err, /usage: edgectl init /);
  t.notMatch(init.err, /commands:|edgectl eval|usage: edgectl push/, 'the usage of init only, not the manual');
  const ok = await edgectl(['init', '--broker', broker.url, '--site', 'lab']);
  t.equal(ok.code, 0, ok.err);
  const pub = join(dir, 'edgectl', 'keys', 'default', 'signing-key.pub.pem');
  t.match(ok.out, `list ${pub} in each device's ota.trustedKeys`);
  const cfg = JSON.parse(readFileSync(env.EDGECTL_CONFIG, 'utf8'));
  t.same(cfg.profiles.default.broker, broker.url);

  const state = (id: string, pred: (s: any) => boolean, ms = 400_000) => waitFor(broker.url, `lab/${id}/model/state`, (m: Msg) => pred(JSON.parse(m.payload)), ms).then((m) => JSON.parse(m.payload));
  const daemons: ReturnType<typeof startDaemon>[] = [];
  t.teardown(() => {
    if (t.passing()) return;
    for (const [i, d] of daemons.entries()) t.comment(`--- ${DEVICES[i]}:\n${d.output().slice(-2500)}`);
  });
  for (const id of DEVICES) {
    const file = join(dir, `${id}.json`);
    writeFileSync(file, JSON.stringify({
      site: 'lab', deviceId: id, groups: id === 'edge-c' ? ['lobby', 'door'] : ['lobby'],
      mqtt: { url: broker.url, qos: 1 },
      cameras: [{ id: 'cam1', url: DEMO_CLIP_URL, fps: 5, loop: true, mode: 'classify' }],
      model: { path: join(ROOT, 'test/fixtures/tiny/model.json') },
      engine: { backend: 'onnxruntime', executionProviders: ['cpu'], threads: 1, workers: 1 },
      http: { port: 0 },
      ota: { enabled: true, stateDir: join(dir, `state-${id}`), trustedKeys: [pub], maxBundleBytes: 1_000_000, probationSec: 8, probationMinFrames: 3, localPollMs: 1000 },
    }));
    chmodSync(file, 0o600);
    // one at a time: engine workers starting together on a loaded 2-core machine can miss the
    // engine's 10 s hello deadline, and the daemon then exits at start; like systemd
    // (Restart=on-failure) the test starts it again, at most twice, and says so
    for (let attempt = 1; ; attempt++) {
      const d = startDaemon(t, file);
      let up = false;
      const died = d.exited().then((c) => {
        if (!up) throw new Error(`${id} exited with ${c} before publishing its state:\n${d.output().slice(-800)}`);
        return new Promise<never>(() => {});
      });
      try {
        await Promise.race([state(id, (s) => s.active?.version === '1.0.0'), died]);
        up = true;
        daemons.push(d);
        t.pass(`${id} serves 1.0.0`);
        break;
      } catch (e) {
        if (attempt === 3 || !/engine worker sent no hello/.test((e as Error).message)) throw e;
        t.comment(`${id}: the engine missed its hello deadline at start (loaded machine); starting it again`);
      }
    }
  }
  const st0 = await state('edge-c', () => true);
  t.same(st0.groups, ['lobby', 'door'], 'the device carries its groups on model/state');

  lap('before 1. a model');
  // 1. a model that passes its load, warm-up and test vector but fails on camera frames: the canary
  //    rolls back by itself during probation, the rollout stops there, the others keep 1.0.0
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  for (const f of ['model.onnx', 'model.json', 'red.rgb']) copyFileSync(join(ROOT, 'test/fixtures/tiny-fails-on-camera', f), join(bad, f));
  const r1 = await edgectl(['push', join(bad, 'model.onnx'), '--group', 'lobby', '--canary', '1']);
  t.equal(r1.code, 1, `a failed rollout exits 1:\n${r1.out}\n${r1.err}`);
  t.match(r1.err, /edge-a \[canary\]: received \d+ chunks, bundle hash OK/, 'received, as the device reports it');
  t.match(r1.err, /edge-a \[canary\]: verified/);
  t.match(r1.err, /edge-a \[canary\]: active/);
  t.match(r1.err, /edge-a \[canary\]: FAILED ROLLED_BACK: rolled back: (error rate|engine crashed)/);
  t.match(r1.out, /edge-a\s+canary\s+tiny@1\.0\.0\s+tiny@1\.0\.0\s+ROLLED_BACK\s+rolled back: (error rate|engine crashed)/);
  t.match(r1.out, /edge-b\s+wave 1\s+tiny@1\.0\.0\s+tiny@1\.0\.0\s+NOT_SENT\s+rollout stopped: canary edge-a failed \(ROLLED_BACK\)/);
  t.match(r1.out, /edge-c\s+wave 2\s+tiny@1\.0\.0\s+tiny@1\.0\.0\s+NOT_SENT/);
  t.match(r1.out, /rollout STOPPED: canary edge-a failed \(ROLLED_BACK\); 0 of 3 device\(s\) run tiny@9\.0\.0/);
  for (const id of DEVICES) {
    const s = await state(id, () => true);
    t.equal(s.active.version, '1.0.0', `${id} runs 1.0.0`);
    t.same(s.versions.map((v: any) => v.version).includes('9.0.0'), id === 'edge-a', `${id}: only the canary ever got 9.0.0`);
  }

  lap('before 2. `edgectl push');
  // 2. `edgectl push model.onnx` exactly as typed: manifest beside it, key/broker/site from the profile,
  //    every device of the site, canary 1 then waves
  const v2 = join(dir, 'v2');
  mkdirSync(v2);
  for (const f of variantFiles({ version: '2.0.0', tests: [['red', [255, 0, 0]]] })) writeFileSync(join(v2, f.name), f.bytes);
  const r2 = await edgectl(['push', join(v2, 'model.onnx')]);
  t.equal(r2.code, 0, `${r2.out}\n${r2.err}`);
  t.match(r2.err, /manifest beside it/);
  t.match(r2.err, /edge-a \[canary\]: probation passed/);
  for (const id of DEVICES) t.match(r2.out, new RegExp(`${id}\\s+(canary|wave \\d)\\s+tiny@1\\.0\\.0\\s+tiny@2\\.0\\.0\\s+(PROBATION_PASSED|ACTIVE)`));
  t.match(r2.out, /rollout done: 3 of 3 device\(s\) run tiny@2\.0\.0/);
  for (const id of DEVICES) t.equal((await state(id, (s) => s.active?.version === '2.0.0')).active.version, '2.0.0');

  lap('before 3. a model with');
  // 3. a model with its labels and preprocessing only in the ONNX metadata: one line asks for the version
  const v3 = join(dir, 'v3');
  mkdirSync(v3);
  writeFileSync(join(v3, 'site.onnx'), withMetadataProps(tinyOnnx(), metadataProps({ labels: ['red', 'blue'], preprocess: { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] }, outputKind: 'logits', name: 'tiny' })));
  const noVersion = await edgectl(['push', join(v3, 'site.onnx')]);
  t.equal(noVersion.code, 64);
  t.equal(noVersion.err.split('\n')[0], 'edgectl push: site.onnx has no manifest beside it: give its version with --version V (labels red, blue come from its ONNX metadata)');
  t.match(noVersion.err, /^usage: edgectl push /m);
  t.notMatch(noVersion.err, /commands:|usage: edgectl eval|edgectl train/, 'only the push usage');

  lap('before 4. interrupted');
  // 4. interrupted on the operator's side (Ctrl-C while the canary is on probation): status shows it, resume finishes it
  const r4 = await edgectl(['push', join(v3, 'site.onnx'), '--version', '3.0.0'], (err, kill) => /edge-a \[canary\]: active/.test(err) && kill('SIGINT'));
  t.equal(r4.code, 130, r4.err);
  t.match(r4.err, /rollout interrupted/);
  const status = await edgectl(['status']);
  t.match(status.out, /rollout \S+: tiny@3\.0\.0 to every device of lab \(3 device\(s\), 1 canary, 2 wave\(s\)\)/);
  t.match(status.out, /INTERRUPTED/);
  t.match(status.out, /edge-c\s+tiny@\S+\s+tiny@\S+\s+(yes|no)\s+lobby,door /, 'and the devices, with their groups');
  const again = await edgectl(['push', join(v2, 'model.onnx')]);
  t.equal(again.code, 1);
  t.match(again.err, /rollout of tiny@3\.0\.0 on lab is not finished .*edgectl rollout resume, or edgectl rollout abort/);
  const resumed = await edgectl(['rollout', 'resume']);
  t.equal(resumed.code, 0, `${resumed.out}\n${resumed.err}`);
  t.match(resumed.out, /rollout done: 3 of 3 device\(s\) run tiny@3\.0\.0/);
  t.notMatch(resumed.err, /edge-a \[canary\]: sending/, 'the canary, already on 3.0.0, is not sent it again');
  for (const id of DEVICES) t.equal((await state(id, (s) => s.active?.version === '3.0.0')).active.version, '3.0.0');

  lap('before 5. abort');
  // 5. abort with --rollback: the devices that took the model go back to the one before
  const v4 = join(dir, 'v4');
  mkdirSync(v4);
  for (const f of variantFiles({ version: '4.0.0' })) writeFileSync(join(v4, f.name), f.bytes);
  const r5 = await edgectl(['push', join(v4, 'model.onnx'), '--group', 'door', '--canary', '1'], (err, kill) => /edge-c \[canary\]: active/.test(err) && kill('SIGTERM'));
  t.equal(r5.code, 130);
  const aborted = await edgectl(['rollout', 'abort', '--rollback']);
  t.equal(aborted.code, 0, `${aborted.out}\n${aborted.err}`);
  t.match(aborted.out, /edge-c\s+ROLLED_BACK/);
  t.match(aborted.out, /rollout aborted/);
  t.equal((await state('edge-c', (s) => s.active?.version === '3.0.0')).active.version, '3.0.0', 'edge-c back on 3.0.0');
  t.equal((await edgectl(['rollout', 'resume'])).code, 1, 'an aborted rollout cannot be resumed');
  lap('end');
  t.ok(privateKeyFromPem(readFileSync(cfg.profiles.default.key, 'utf8')), 'the profile key is a usable private key');
});
