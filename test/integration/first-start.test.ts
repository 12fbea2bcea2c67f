// A first start whose engine build outlasts the load timeout (TensorRT on a Jetson takes minutes; here
// the onnxruntime worker's TEST HOOK slow-build announces a build and sleeps, on this machine without
// TensorRT). The load timeout is made short (2 s) and the build 6 s, so the test shows the mechanism
// without waiting minutes: the worker is not killed, systemd hears EXTEND_TIMEOUT_USEC and STATUS, the
// health report says "building", and READY=1 comes once the load ends. The same sleep without the
// announcement (slow-load) is killed at the load timeout: the build timeout is earned, not a longer
// timeout for everyone.
import t from 'tap';
import { join } from 'node:path';
import { DEMO_CLIP_URL, ROOT, startDaemon, writeConfig } from '../helpers/daemon.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startNotifyReceiver } from '../helpers/notify-socket.js';
import { freePort } from '../helpers/ports.js';

const LOAD_MS = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Health {
  healthy: boolean;
  engine: { state: string; restarts: number; pid: number | null; provider: string | null; building: { model: string; provider: string; reason: string; forSec: number; firstStart: boolean } | null };
}

async function config(t: Parameters<Parameters<typeof t.test>[0]>[0], httpPort: number, brokerUrl: string) {
  return writeConfig(t, {
    site: 'site',
    deviceId: 'edge-first',
    mqtt: { url: brokerUrl, qos: 0 },
    cameras: [{ id: 'cam1', url: DEMO_CLIP_URL, fps: 10, loop: true }],
    model: { path: join(ROOT, 'models/mask-mobilenet/model.json') },
    engine: { executionProviders: ['cpu'], threads: 1, workers: 1 },
    watchdog: { loadTimeoutSec: 2, buildTimeoutSec: 120, readyTimeoutSec: 30 },
    http: { port: httpPort, host: '127.0.0.1' },
  });
}

t.test('an engine build longer than the load timeout: no restart, systemd and health are told, READY at the end', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const rx = await startNotifyReceiver();
  t.teardown(() => rx.stop());
  const port = await freePort();
  const d = startDaemon(t, await config(t, port, broker.url), {
    NOTIFY_SOCKET: rx.path,
    WATCHDOG_USEC: '2000000',
    MOBILENET_EDGE_TEST_HOOKS: 'slow-build',
    MOBILENET_EDGE_TEST_LOAD_MS: String(LOAD_MS),
  });
  const started = Date.now();
  const extend = await rx.waitFor((m) => m.text.includes('EXTEND_TIMEOUT_USEC='), 20000);
  t.match(extend.text, /^EXTEND_TIMEOUT_USEC=30000000$/m, 'the start timeout is extended by 30 s at a time');
  t.match(extend.text, /^STATUS=building TensorRT engine for mask-mobilenet \(first start\)$/m);
  // health, while it builds
  let h: Health | null = null;
  for (const end = Date.now() + 10000; Date.now() < end; await sleep(100)) {
    h = (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json()).catch(() => null)) as Health | null;
    if (h?.engine.state === 'building') break;
  }
  t.equal(h?.engine.state, 'building', `health says building: ${JSON.stringify(h)}`);
  t.match(h?.engine.building, { model: 'mask-mobilenet', provider: 'tensorrt', firstStart: true });
  t.equal(h?.healthy, true, 'a build is not an outage');
  const pid = h?.engine.pid;
  t.notOk(rx.messages.some((m) => m.text.includes('READY=1')), 'no READY=1 while building');
  // the load ends: READY=1, the same worker, no restart
  const ready = await rx.waitFor((m) => m.text.includes('READY=1'), 60000);
  t.ok(ready.at - started >= LOAD_MS - 500, `READY=1 after the build (${ready.at - started} ms), which outlasted the 2 s load timeout`);
  const after = (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json())) as Health;
  t.equal(after.engine.state, 'ready');
  t.equal(after.engine.building, null);
  t.equal(after.engine.restarts, 0, 'the worker was never killed');
  t.equal(after.engine.pid, pid, 'the worker that built is the one serving');
  t.equal(after.engine.provider, 'cpu');
  t.notMatch(d.output(), /engine down|did not answer load/);
  d.proc.kill('SIGTERM');
  t.equal(await d.exited(), 0);
});

t.test('the same slow load without saying it builds is killed at the load timeout', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const port = await freePort();
  const d = startDaemon(t, await config(t, port, broker.url), { MOBILENET_EDGE_TEST_HOOKS: 'slow-load', MOBILENET_EDGE_TEST_LOAD_MS: String(LOAD_MS) });
  const code = await d.exited();
  t.not(code, 0, 'the first start fails');
  t.match(d.output(), /engine worker did not answer load within 2000 ms/);
});
