// The OTA device end without a broker: a stub link records results. Disk full is simulated with
// ota.minFreeBytes larger than any disk (the free-space check that runs before staging).
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtaDevice, type OtaLink } from '../../daemon/ota/device.js';
import { ModelStore } from '../../daemon/ota/model-store.js';
import { createLogger } from '../../daemon/log.js';
import { chunkBundle } from '../../deploy/ota/protocol.js';
import { variantBundle } from '../helpers/ota-fixtures.js';
import type { ModelSwap } from '../../daemon/ota/model-swap.js';
import type { Pipeline } from '../../pipelines/pipeline.js';
import { monoMs } from '../../pipelines/clock.js';
import { stepWallClock, YEAR_MS } from '../helpers/wall-clock.js';

/** An OtaDevice on a real store in `dir` with a stub link (what it published, its handlers) and no engine. */
async function harness(dir: string, over: Partial<ConstructorParameters<typeof OtaDevice>[0]> = {}) {
  const { otaSchema } = await import('../../daemon/ota/config.js');
  const defaults = Object.fromEntries(Object.entries(otaSchema).map(([k, v]) => [k, v.default])) as Record<string, unknown>;
  const store = await ModelStore.open(dir, { keep: 2 });
  const published: [string, any][] = [];
  const handlers: Record<string, (b: Buffer) => void> = {};
  const link: OtaLink = {
    subscribe: (topic, fn) => void (handlers[topic.split('/').at(-1)!] = fn),
    publishEvent: (topic, p) => published.push([topic, JSON.parse(p)]),
    publishRetained: (topic, p) => published.push([topic, JSON.parse(p)]),
  };
  const swap = { current: { loaded: null, on() {}, off() {} }, swapTo: () => Promise.reject(new Error('must not be reached')) } as unknown as ModelSwap;
  const pipeline = { frameCounts: () => ({ taken: 0, published: 0, failed: 0 }) } as unknown as Pipeline;
  const device = () => new OtaDevice(
    { ...(defaults as never), site: 's', deviceId: 'd', groups: [], trusted: [], enabled: true, stateDir: dir, allowUnsigned: true, maxBundleBytes: 1e6, minFreeBytes: 0, transferTimeoutSec: 5, keepVersions: 2, probationSec: 0, localPollMs: 60000, ...over },
    store, swap, pipeline, link, createLogger('error', () => {}),
  );
  return { published, handlers, device };
}

t.test('disk full before staging: refused, nothing written, old model untouched', async (t) => {
  const dir = t.testdir({});
  const { published, handlers, device } = await harness(dir, { minFreeBytes: Number.MAX_SAFE_INTEGER });
  const dev = device();
  dev.start();
  const onPush = handlers.push;
  t.teardown(() => dev.stop());
  for (const c of chunkBundle(variantBundle({ version: '2' }), 'full-1', 500)) onPush(c);
  await new Promise((r) => setTimeout(r, 300));
  const results = published.filter(([topic]) => topic === 's/d/model/result/full-1');
  t.equal(results.length, 1, 'answered once, not once per chunk');
  t.equal(results[0][1].code, 'DISK_FULL');
  t.match(results[0][1].message, /not enough disk space/);
  t.same(readdirSync(join(dir, 'staging')), [], 'nothing staged');
  t.same(readdirSync(join(dir, 'models')), [], 'nothing installed');
  const state = published.filter(([topic]) => topic === 's/d/model/state').at(-1)![1];
  t.equal(state.lastPush.code, 'DISK_FULL', 'reported on the state topic');
});

t.test('rollback nonces are kept in the state directory: a command replayed after a restart is refused', async (t) => {
  const { generateKeys, privateKeyFromPem, publicKeyFromPem } = await import('../../models/signing.js');
  const { signCommand } = await import('../../deploy/ota/command.js');
  const k = generateKeys();
  const dir = t.testdir({});
  const { trustedKey } = await import('../../models/signing.js');
  const { published, handlers, device } = await harness(dir, { trusted: [trustedKey(publicKeyFromPem(k.publicPem))], allowUnsigned: false, commandMaxAgeSec: 60 });
  const msg = Buffer.from(signCommand({ cmd: 'rollback', site: 's', deviceId: 'd', requestId: 'r1' }, privateKeyFromPem(k.privatePem)));
  const codeOf = async (dev: OtaDevice) => {
    dev.start();
    const n = published.length;
    handlers.rollback(msg);
    await new Promise((r) => setTimeout(r, 200));
    dev.stop();
    return published.slice(n).find(([topic]) => topic === 's/d/model/result/r1')?.[1].code;
  };
  t.equal(await codeOf(device()), 'NO_PREVIOUS', 'accepted (nothing to roll back to in an empty store)');
  const file = join(dir, 'command-nonces.json');
  t.ok(existsSync(file), 'the nonce is on disk');
  t.equal(JSON.parse(readFileSync(file, 'utf8')).length, 1);
  t.equal(await codeOf(device()), 'REPLAYED', 'a new device (the daemon restarted) refuses the same command');
});

t.test('a flood of junk chunks is answered without rewriting the retained state', async (t) => {
  const dir = t.testdir({});
  const { published, handlers, device } = await harness(dir);
  const dev = device();
  dev.start();
  t.teardown(() => dev.stop());
  const states = () => published.filter(([topic]) => topic === 's/d/model/state').length;
  const before = states();
  const { encodeChunk } = await import('../../deploy/ota/protocol.js');
  for (let i = 0; i < 200; i++) handlers.push(encodeChunk({ transferId: `junk-${i}`, index: 0, count: 1, size: 3, chunkSize: 3, sha256: '0'.repeat(64), bundleSha256: '0'.repeat(64) }, Buffer.from('abc')));
  for (let i = 0; i < 100 && published.filter(([topic]) => topic.includes('/model/result/junk-')).length < 200; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(published.filter(([topic]) => topic.includes('/model/result/junk-')).length, 200, 'each junk transfer answered once (BAD_CHUNK)');
  t.equal(states(), before, 'no state rewrite');
});

t.test('receiver: the whole-transfer deadline ends a trickle that the no-chunk timeout never would', async (t) => {
  const { Receiver } = await import('../../daemon/ota/receiver.js');
  const dir = t.testdir({});
  const refused: [string, string, boolean][] = [];
  const rx = new Receiver(
    { stagingDir: dir, maxBundleBytes: 1e6, maxChunkBytes: 1024, minFreeBytes: 0, transferTimeoutSec: 60, transferDeadlineSec: 600 },
    { busy: () => false, refuse: (id, code, _m, _t0, started) => void refused.push([id, code, started]), complete: async () => t.fail('must not complete') },
    createLogger('error', () => {}),
  );
  const chunks = chunkBundle(variantBundle({ version: '2' }), 'slow-1', 100);
  const settle = () => new Promise((r) => setTimeout(r, 50));
  const t0 = monoMs(); // the receiver's clock (D165)
  for (const c of chunks.slice(1, 4)) rx.onMessage(c);
  for (let i = 0; i < 40 && !rx.current; i++) await settle();
  t.equal(rx.current, 'slow-1', 'the trickle holds the slot');
  // NTP steps the wall clock a year forward (D165): the receiver times transfers on the monotonic clock
  const restore = stepWallClock(t, YEAR_MS);
  try {
    await rx.tick();
  } finally {
    restore();
  }
  t.same(refused, [], 'a step of the wall clock is neither the deadline nor the no-chunk timeout');
  await rx.tick(t0 + 59_000);
  t.same(refused, [], 'a chunk every < 60 s keeps it alive');
  await rx.tick(t0 + 601_000);
  t.same(refused, [['slow-1', 'TRANSFER_DEADLINE', true]], 'the deadline ends it');
  t.equal(rx.current, null, 'the slot is free');
  t.same(readdirSync(dir), [], 'staging file removed');
  const big = chunkBundle(variantBundle({ version: '3' }), 'big-1', 2048)[0];
  rx.onMessage(big);
  for (let i = 0; i < 40 && refused.length < 2; i++) await settle();
  t.same(refused[1], ['big-1', 'TOO_LARGE', false], 'a chunk above ota.maxChunkBytes');
  await rx.stop();
});

t.test('progress reports what the device has: chunks at each quarter, the whole bundle, its verification; groups on the state', async (t) => {
  const dir = t.testdir({});
  const { published, handlers, device } = await harness(dir, { groups: ['lobby', 'door'] });
  const dev = device();
  dev.start();
  t.teardown(() => dev.stop());
  const chunks = chunkBundle(variantBundle({ version: '2' }), 'prog-1', 100);
  t.ok(chunks.length >= 8, `${chunks.length} chunks`);
  for (const c of chunks) handlers.push(c);
  const until = Date.now() + 10000;
  while (!published.some(([topic]) => topic === 's/d/model/result/prog-1') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const progress = published.filter(([topic]) => topic === 's/d/model/progress/prog-1').map(([, p]) => p);
  const n = chunks.length;
  t.same(progress.filter((p) => p.stage === 'receiving').map((p) => p.received), [1, 2, 3].map((q) => Math.ceil((q * n) / 4)), 'one report at each quarter');
  t.match(progress.at(-2), { stage: 'received', received: n, count: n, deviceId: 'd', transferId: 'prog-1' });
  t.match(progress.at(-1), { stage: 'verified' });
  t.same(published.filter(([topic]) => topic === 's/d/model/state').at(-1)![1].groups, ['lobby', 'door']);
});
