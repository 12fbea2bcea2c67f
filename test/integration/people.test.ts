// People end to end on real parts: GStreamer RTSP server looping the clip with ground-truth tracks
// (test/helpers/people-clip.ts: 8 people, 4 masked, 4 not, two crossings with occlusion, 32 s) → the
// built daemon (ffmpeg, onnxruntime worker, tracking) → mosquitto. The daemon reaches the broker
// through a TCP relay that the test cuts for a few seconds in the middle of a visit (the broker is
// unreachable for the daemon; the test's own subscriber stays connected). Over one full loop of the
// clip: exactly one enter and one leave per person, final verdicts match the ground truth, no event
// lost over the outage, counts on the health topic match the leave events; per-frame faces carry
// `track` and `classified`, the state topic still works, an unmasked person's snapshot is a JPEG.
import t from 'tap';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startRtspServer } from '../helpers/rtsp.js';
import { startCollector } from '../helpers/mqtt-collect.js';
import { peopleClip } from '../helpers/people-clip.js';

const root = join(import.meta.dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP relay to `port` that can be cut (all connections closed, new ones refused) and restored. */
async function relay(port: number) {
  const socks = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((c) => {
    if (!open) return c.destroy();
    const u = net.connect(port, '127.0.0.1');
    socks.add(c).add(u);
    c.pipe(u).pipe(c);
    const end = () => (c.destroy(), u.destroy(), socks.delete(c), socks.delete(u));
    c.on('error', end).on('close', end);
    u.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut() {
      open = false;
      for (const s of socks) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((r) => (server.close(() => r()), socks.forEach((s) => s.destroy()))),
  };
}

t.test('people: one enter and one leave each, verdicts, counts, no event lost over an outage', async (t) => {
  const clip = await peopleClip('tracks');
  const truth = new Map(clip.people.map((p) => [p.id, p.label]));
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const cam = await startRtspServer({ mounts: { '/door': clip.path } });
  t.teardown(() => cam.stop());
  const link = await relay(broker.port);
  t.teardown(() => link.close());
  const dir = t.testdir({});
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({
    site: 'hq', deviceId: 'edge-7',
    mqtt: { url: link.url, qos: 0, reconnectMinMs: 200, reconnectMaxMs: 1000 },
    cameras: [{ id: 'door', url: cam.url('/door'), fps: 10, mode: 'faces', frameWidth: clip.width, frameHeight: clip.height }],
    faces: { publish: 'every' },
    people: { privacy: 'blur' },
    outbox: { dir },
    http: { port: 0 },
    watchdog: { healthIntervalSec: 1 },
    log: { level: 'info' },
  }));
  const results = startCollector(broker.url, 'hq/door/mask', { timeoutMs: 300000, qos: 0 });
  const events = startCollector(broker.url, 'hq/door/mask/events', { timeoutMs: 300000, qos: 1 });
  const health = startCollector(broker.url, 'hq/edge-7/health', { timeoutMs: 300000, qos: 0 });
  const states = startCollector(broker.url, 'hq/door/mask/state', { timeoutMs: 300000, qos: 1 });
  await Promise.all([results.ready, events.ready, health.ready, states.ready]);
  const proc = spawn(process.execPath, [join(root, 'dist/daemon/main.js'), '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out = (out + d).slice(-50000)));
  proc.stderr.on('data', (d) => (out = (out + d).slice(-50000)));
  t.teardown(() => void (proc.exitCode === null && proc.kill('SIGKILL')));

  // The loop's start: the first frame with faces after at least 2 s without any (the clip ends
  // with 3.5 s of empty scene; its first person comes in at frame 5).
  const frames = () => results.messages.map((m) => JSON.parse(m.payload) as { frame: number; ts: string; faces: { track?: number; classified?: boolean }[]; label: string });
  const deadline = Date.now() + 200000;
  let start: { frame: number; ts: number } | null = null;
  while (!start && Date.now() < deadline && proc.exitCode === null) {
    await sleep(500);
    const f = frames();
    let lastFace = -Infinity;
    for (const m of f) {
      if (m.faces.length && m.frame - lastFace >= 20 && lastFace !== -Infinity) {
        start = { frame: m.frame, ts: Date.parse(m.ts) };
        break;
      }
      if (m.faces.length) lastFace = m.frame;
      else if (lastFace === -Infinity) lastFace = m.frame - 1000; // frames before any face count as empty
    }
  }
  t.ok(start, `a loop start was seen; daemon output:\n${out.slice(-3000)}`);
  if (!start) return;
  const loopEnd = start.ts + 30_000; // the last person leaves 28 s after the first came in
  // cut the daemon off the broker in the middle of the first crossing (people 1 and 2 are visiting)
  while (Date.now() < start.ts + 7000) await sleep(100);
  const cutAt = Date.now();
  link.cut();
  await sleep(5000);
  link.restore();
  const restoredAt = Date.now();
  // wait for the loop's last leave (plus the leave delay) and for the outbox to drain
  while (Date.now() < loopEnd + 4000 && Date.now() < deadline) await sleep(500);
  const inLoop = (e: { at: string }) => Date.parse(e.at) >= start!.ts - 1000 && Date.parse(e.at) <= loopEnd;
  let ev: { type: string; person: string; label: string | null; at: string; track: number; snapshot: boolean; readings: number; durationMs?: number; box: number[] }[] = [];
  for (let i = 0; i < 40; i++) {
    ev = events.messages.map((m) => JSON.parse(m.payload)).filter(inLoop);
    if (ev.filter((e) => e.type === 'leave').length >= clip.people.length) break;
    await sleep(500);
  }
  const persons = new Map<string, typeof ev>();
  for (const e of ev) persons.set(e.person, [...(persons.get(e.person) ?? []), e]);
  t.comment(`${persons.size} people in the loop: ${[...persons.values()].map((l) => l.map((e) => `${e.type}:${e.label}`).join(',')).join(' | ')}`);
  const enterLeave = [...persons.values()].filter((l) => l.filter((e) => e.type === 'enter').length === 1 && l.filter((e) => e.type === 'leave').length === 1);
  t.equal(persons.size, clip.people.length, `${clip.people.length} people, one event sequence each`);
  t.ok(enterLeave.length >= Math.ceil(0.95 * clip.people.length), `≥ 95 % of people have exactly one enter and one leave (${enterLeave.length}/${clip.people.length})`);
  for (const l of persons.values()) t.same(l.map((e) => e.type).filter((x) => x !== 'verdict').slice(0, 1), ['enter'], 'enter comes first');
  const finals = [...persons.values()].map((l) => l.find((e) => e.type === 'leave')?.label);
  const want = [...truth.values()];
  t.same(finals.filter((x) => x === 'mask').length, want.filter((x) => x === 'mask').length, 'masked people: as the ground truth');
  t.same(finals.filter((x) => x === 'no_mask').length, want.filter((x) => x === 'no_mask').length, 'unmasked people: as the ground truth');
  const leaves = ev.filter((e) => e.type === 'leave');
  t.ok(leaves.every((e) => typeof e.durationMs === 'number' && e.durationMs > 3000 && e.readings >= 1 && e.box.length === 4), 'leave: duration, readings, box');
  t.ok(leaves.filter((e) => e.label === 'no_mask').every((e) => e.snapshot), 'every unmasked person has a snapshot (privacy blur)');

  // the outage really happened, and nothing was lost: every event since the daemon started is a whole sequence
  t.match(out, /mqtt connection lost/, 'the daemon lost the broker');
  const during = ev.filter((e) => Date.parse(e.at) >= cutAt && Date.parse(e.at) <= restoredAt);
  t.ok(during.length >= 1, `events happened while the broker was unreachable (${during.map((e) => e.type).join(', ')}) and arrived`);
  const all = events.messages.map((m) => JSON.parse(m.payload) as { type: string; person: string; label: string });
  const seqOk = [...new Set(all.map((e) => e.person))].every((p) => {
    const types = all.filter((e) => e.person === p).map((e) => e.type);
    return types[0] === 'enter' && types.filter((x) => x === 'enter').length === 1 && types.filter((x) => x === 'leave').length <= 1 && (types.indexOf('leave') === -1 || types.indexOf('leave') === types.length - 1);
  });
  t.ok(seqOk, 'every person seen since the start: enter first, at most one leave, last');

  // counts on the health topic = leave events per label (all since start)
  let counted = false;
  for (let i = 0; i < 20 && !counted; i++) {
    const h = health.messages.length ? JSON.parse(health.messages.at(-1)!.payload) : null;
    const allLeaves = events.messages.map((m) => JSON.parse(m.payload)).filter((e) => e.type === 'leave');
    const c = h?.people?.door?.total;
    counted = !!c && c.mask === allLeaves.filter((e) => e.label === 'mask').length && c.no_mask === allLeaves.filter((e) => e.label === 'no_mask').length;
    if (!counted) await sleep(500);
  }
  t.ok(counted, `health people counts match the leave events: ${health.messages.at(-1)?.payload.slice(-200)}`);

  // per-frame payload: every face has a track and classified; state still works
  const withFaces = frames().filter((m) => m.faces.length);
  t.ok(withFaces.length > 50 && withFaces.every((m) => m.faces.every((f) => typeof f.track === 'number' && typeof f.classified === 'boolean')), 'every face has track and classified');
  const faces = withFaces.flatMap((m) => m.faces);
  t.ok(faces.filter((f) => f.classified).length < faces.length / 2, `most faces were not classified again (${faces.filter((f) => f.classified).length}/${faces.length})`);
  t.ok(states.messages.length >= 2, 'the state topic changes');

  // the snapshot: retained JPEG bytes
  const c = await mqtt.connectAsync(broker.url);
  const snap = new Promise<Buffer>((resolve) => c.on('message', (_t, payload) => resolve(payload)));
  await c.subscribeAsync('hq/door/mask/snapshot', { qos: 1 });
  const jpeg = await Promise.race([snap, sleep(5000).then(() => Buffer.alloc(0))]);
  t.ok(jpeg.length > 500 && jpeg[0] === 0xff && jpeg[1] === 0xd8, `a retained JPEG snapshot (${jpeg.length} bytes)`);
  await c.endAsync();
  // a clean stop ends every visit: each person who entered gets a leave, also those still in view
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  const unfinished = () => {
    const byPerson = new Map<string, string[]>();
    for (const e of events.messages.map((m) => JSON.parse(m.payload) as { person: string; type: string; camera: string })) {
      const k = `${e.camera}/${e.person}`;
      byPerson.set(k, [...(byPerson.get(k) ?? []), e.type]);
    }
    return [...byPerson].filter(([, types]) => types.includes('enter') && types.filter((x) => x === 'leave').length !== 1).map(([k]) => k);
  };
  for (let i = 0; i < 100 && unfinished().length; i++) await sleep(50);
  t.same(unfinished(), [], 'after a clean stop every person who entered has exactly one leave');
});
