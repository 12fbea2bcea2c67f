// An engine worker killed while 4 cameras stream (faces mode, 2 workers): no camera is lost (every
// camera keeps publishing and none of their decoders restarts), no frame FIFO or shared-memory slot
// leaks (FIFOs counted during and after; the slot folder stays within its files and every slot is
// back at the stop, D134), the replacement worker serves, the supervisor stays up.
// The daemon's TMPDIR is the test's own folder, so its FIFOs are counted apart from anyone else's.
// Then the frame reader (D134; a thread of the supervisor, D154) killed while 2 cameras stream, through
// the daemon's test hook: every camera restarts, the supervisor stays up.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { startDaemon, writeConfig } from '../helpers/daemon.js';
import { scenesClip } from '../helpers/scenes.js';

interface Health {
  engine: { state: string; pid: number | null; restarts: number; workers: number };
  cameras: Record<string, { state: string; results: number; restarts: number; pid: number | null }>;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Frame FIFOs and source folders under `dir`. */
function resources(dir: string): { fifos: string[]; dirs: string[] } {
  const dirs = readdirSync(dir).filter((n) => n.startsWith('mobilenet-edge-'));
  const fifos = dirs.flatMap((d) => (statSync(join(dir, d)).isDirectory() ? readdirSync(join(dir, d)).map((f) => join(d, f)) : [])).filter((p) => statSync(join(dir, p)).isFIFO());
  return { fifos: fifos.sort(), dirs: dirs.sort() };
}

/** A daemon streaming `cams` (faces mode, the scenes clip at 5 fps) with its own broker and TMPDIR, and a health poller. */
async function streaming(t: Test, o: { deviceId: string; cams: string[]; workers: number; tmpPrefix: string; env?: Record<string, string> }) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const port = await freePort();
  // the daemon's TMPDIR (not t.testdir: writeConfig makes that afresh)
  const tmp = mkdtempSync(join(tmpdir(), o.tmpPrefix));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const cfg = writeConfig(t, {
    site: 'site',
    deviceId: o.deviceId,
    mqtt: { url: broker.url, qos: 0 },
    cameras: o.cams.map((id) => ({ id, url: pathToFileURL(scenesClip).href, fps: 5, loop: true, mode: 'faces' })),
    engine: { executionProviders: ['cpu'], threads: 1, workers: o.workers },
    watchdog: { restartMinMs: 200, restartMaxMs: 1000, inferenceTimeoutMs: 20000 },
    http: { port },
    log: { level: 'info' },
  });
  const daemon = startDaemon(t, cfg, { TMPDIR: tmp, ...o.env });
  t.teardown(() => {
    if (!t.passing()) t.comment(daemon.output().slice(-4000));
  });
  const health = async (): Promise<Health | null> => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Health;
    } catch {
      return null;
    }
  };
  const until = async (what: string, pred: (h: Health) => boolean, ms: number): Promise<Health> => {
    const end = Date.now() + ms;
    for (;;) {
      const h = await health();
      if (h && pred(h)) return h;
      if (daemon.proc.exitCode !== null) throw new Error(`daemon exited (${daemon.proc.exitCode}) waiting for ${what}`);
      if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; last health ${JSON.stringify(h)}`);
      await sleep(200);
    }
  };
  return { daemon, tmp, until };
}

t.test('kill an engine worker while 4 cameras stream', async (t) => {
  const cams = ['a', 'b', 'c', 'd'];
  const { daemon, tmp, until } = await streaming(t, { deviceId: 'edge-k', cams, workers: 2, tmpPrefix: 'worker-kill-' });
  const h0 = await until('every camera publishing', (h) => cams.every((c) => (h.cameras[c]?.results ?? 0) > 2) && h.engine.state === 'ready', 120000);
  t.equal(h0.engine.workers, 2);
  const during = resources(tmp);
  t.equal(during.fifos.length, 4, `one frame FIFO per camera: ${during.fifos.join(', ')}`);
  // the frame slots (D134): this daemon's folder (other tests' daemons may have theirs), a few files per camera
  const slotDir = /"msg":"frame slots","dir":"([^"]+)"/.exec(daemon.output())?.[1] ?? '';
  t.ok(slotDir && existsSync(slotDir), `the daemon's slot folder exists: ${slotDir}`);
  const slotFiles = () => readdirSync(slotDir).length;
  const filesBefore = slotFiles();
  t.ok(filesBefore >= 4 && filesBefore <= 4 * 8, `slot files within 1..8 per camera: ${filesBefore}`);
  const decoders = Object.fromEntries(cams.map((c) => [c, h0.cameras[c].pid]));

  const victim = h0.engine.pid!;
  process.kill(victim, 'SIGKILL');
  const base = Object.fromEntries(cams.map((c) => [c, h0.cameras[c].results]));
  const h1 = await until('the worker replaced and every camera publishing again', (h) => h.engine.restarts > h0.engine.restarts && h.engine.state === 'ready' && h.engine.pid !== victim && cams.every((c) => h.cameras[c].results > base[c] + 5), 120000);
  t.equal(daemon.proc.exitCode, null, 'the supervisor is still running');
  t.not(h1.engine.pid, victim, 'a new worker serves');
  for (const c of cams) {
    t.equal(h1.cameras[c].state, 'running', `${c} still running`);
    t.equal(h1.cameras[c].restarts, h0.cameras[c].restarts, `${c}: its decoder was not restarted`);
    t.equal(h1.cameras[c].pid, decoders[c], `${c}: same decoder process`);
  }
  const after = resources(tmp);
  t.same(after.fifos, during.fifos, 'the same FIFOs, none more');
  t.ok(existsSync(slotDir) && slotFiles() <= 4 * 8, `the same slot folder, its files still within 8 per camera: ${slotFiles()}`);

  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.exited(), 0, 'clean stop');
  const stopped = resources(tmp);
  t.same(stopped.fifos, [], 'no FIFO left after the stop');
  t.same(stopped.dirs, [], 'no source folder left');
  t.notOk(existsSync(slotDir), 'the slot folder is gone after the stop');
  // every slot came back: the frames the killed worker held were released when their requests failed
  t.match(daemon.output(), /frame slots all returned at stop/, 'no slot still held at the stop');
  t.notMatch(daemon.output(), /frame slots still held/, 'no slot leaked');
});

t.test('kill the frame reader while 2 cameras stream: every camera restarts its stream and publishes again, the supervisor stays up', async (t) => {
  const cams = ['a', 'b'];
  const { daemon, until } = await streaming(t, { deviceId: 'edge-r', cams, workers: 1, tmpPrefix: 'reader-kill-', env: { MOBILENET_EDGE_TEST_HOOKS: 'kill-frame-reader' } });
  const h0 = await until('every camera publishing', (h) => cams.every((c) => (h.cameras[c]?.results ?? 0) > 2), 120000);
  t.match(daemon.output(), /"msg":"frame slots","dir":"[^"]+"/, 'the slot folder is logged');
  daemon.proc.kill('SIGUSR2'); // the test hook: the frame reader ends as a crash would
  const base = Object.fromEntries(cams.map((c) => [c, h0.cameras[c].results]));
  const h1 = await until('every camera restarted and publishing again', (h) => cams.every((c) => h.cameras[c].restarts > h0.cameras[c].restarts && h.cameras[c].results > base[c] + 5), 120000);
  t.equal(daemon.proc.exitCode, null, 'the supervisor is still running');
  for (const c of cams) t.equal(h1.cameras[c].state, 'running', `${c} running again`);
  t.match(daemon.output(), /frame reader died; every camera restarts its stream.*"reason":"frame reader killed"/, 'the death is logged');
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.exited(), 0, 'clean stop');
  t.match(daemon.output(), /frame slots all returned at stop/, 'no slot still held at the stop');
});
