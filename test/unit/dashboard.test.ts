// The dashboard server end without a daemon: costs nothing without a client (no per-frame hook, no
// timer), streams to a client, takes people events and snapshots from the publisher's 'publish' event,
// and keeps its data behind the token.
import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { join } from 'node:path';
import { Dashboard } from '../../daemon/http/dashboard.js';
import { startHttp } from '../../daemon/http/server.js';
import { Metrics } from '../../daemon/http/metrics.js';
import { createLogger } from '../../daemon/log.js';
import type { HealthReport } from '../../daemon/watchdog.js';

const TOKEN = 'unit-dashboard-token-000000';
const ROOT = join(import.meta.dirname, '..', '..');
const report: HealthReport = {
  ts: new Date(0).toISOString(), healthy: true, reasons: [], uptimeSec: 1, pid: 1,
  engine: { state: 'ready', provider: 'cpu', model: { name: 'm', version: '1' }, restarts: 0, restartsInWindow: 0, errors: 0, lastError: null, pid: 2, workers: 1 },
  cameras: { door: { state: 'running', fps: 10, frames: 5, results: 5, dropped: 0, reused: 0, restarts: 0, restartsInWindow: 0, lastError: null, stderr: ['ffmpeg said rtsp://u:secret@cam'], pid: 3 } },
  mqtt: { connected: true, published: 0, dropped: 0, reconnects: 0, outbox: { queued: 0, dropped: 0 } },
};

async function setup(t: Test) {
  const publisher = new EventEmitter();
  const d = new Dashboard(
    { site: 's', deviceId: 'dev', version: '0', cameras: [{ id: 'door', mode: 'faces' }], token: TOKEN, fps: 50, quality: 60, maxWidth: 0, pageDir: join(ROOT, 'daemon/http/page'), report: () => report, publisher, modelStateTopic: 's/dev/model/state' },
    createLogger('error', () => {}),
  );
  const srv = await startHttp('127.0.0.1', 0, () => report, new Metrics(() => report), [d.route], TOKEN, [d.publicRoute]);
  t.teardown(async () => {
    d.close();
    await srv.close();
  });
  return { d, publisher, port: srv.port };
}

/** Open the event stream and collect its events until `until` says so. */
function stream(port: number, headers: Record<string, string>) {
  const events: { event: string; data: unknown }[] = [];
  let buf = '';
  let status = 0;
  const waiters: (() => void)[] = [];
  const req = request({ host: '127.0.0.1', port, path: '/api/stream', headers }, (res) => {
    status = res.statusCode!;
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buf += c;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.+)$/m.exec(block);
        const data = /^data: (.+)$/m.exec(block);
        if (ev && data) events.push({ event: ev[1], data: JSON.parse(data[1]) });
      }
      for (const w of waiters.splice(0)) w();
    });
    res.on('end', () => waiters.splice(0).forEach((w) => w()));
  });
  req.end();
  return {
    events,
    status: () => status,
    close: () => req.destroy(),
    async until(pred: () => boolean, what: string): Promise<void> {
      const end = Date.now() + 10000;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`stream: no ${what}; got ${events.map((e) => e.event).join(',')}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

const frame = () => {
  const f = { data: Buffer.alloc(64 * 36 * 3, 128), width: 64, height: 36, seq: 7, holds: 0, hold: () => f.holds++, release: () => f.holds-- };
  return f;
};

t.test('nobody connected: no per-frame hook and no timer; one client: both; gone: none again', async (t) => {
  const { d, publisher, port } = await setup(t);
  t.equal(d.live, null, 'no hook before anyone opens the page');
  publisher.emit('publish', 's/door/mask', '{"frame":1}', { qos: 0, retain: false }); // a per-frame result: ignored
  const s = stream(port, { authorization: `Bearer ${TOKEN}` });
  await s.until(() => s.events.some((e) => e.event === 'counts'), 'first state');
  t.same(s.events.map((e) => e.event), ['hello', 'health', 'model', 'people', 'counts'], 'the current state at once');
  t.match(s.events[0].data, { site: 's', deviceId: 'dev', cameras: [{ id: 'door', mode: 'faces' }] });
  t.equal((s.events[1].data as HealthReport).cameras.door.stderr, undefined, 'camera stderr lines stay off the page');
  t.equal(d.watchers, 1);
  t.type(d.live, 'function', 'the hook exists while someone watches');

  const f = frame();
  d.live!('door', f, 'no_mask', [{ box: [10, 10, 20, 20], label: 'no_mask', score: 0.91, track: 4 }], [{ box: [1.4, 2.6, 3, 4], label: 'no_mask', score: 0.91 }]);
  await s.until(() => s.events.some((e) => e.event === 'frame'), 'frame');
  const fe = s.events.find((e) => e.event === 'frame')!.data as { faces: unknown[]; size: number[]; jpeg: string; seq: number };
  t.same(fe.faces, [{ box: [1, 3, 3, 4], track: 4, label: 'no_mask', score: 0.91 }], 'boxes in the picture\'s pixels, track and verdict from the result');
  t.same(fe.size, [64, 36]);
  t.equal(Buffer.from(fe.jpeg, 'base64').subarray(0, 3).toString('hex'), 'ffd8ff', 'a JPEG');
  t.equal(f.holds, 0, 'the frame was released after encoding');

  publisher.emit('publish', 's/door/mask/events', JSON.stringify({ type: 'verdict', camera: 'door', track: 4, person: 'door:1:4', at: new Date().toISOString(), label: 'no_mask', score: 0.91, box: [10, 10, 20, 20], readings: 3, snapshot: true }), { qos: 1, retain: false });
  publisher.emit('publish', 's/door/mask/snapshot', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), { qos: 1, retain: true });
  await s.until(() => s.events.some((e) => e.event === 'people' && (e.data as { snapshotUrl: string | null }[])[0]?.snapshotUrl), 'people with a snapshot');
  const rows = s.events.filter((e) => e.event === 'people').pop()!.data as { person: string; snapshotUrl: string }[];
  t.equal(rows[0].person, 'door:1:4');
  const counts = s.events.filter((e) => e.event === 'counts').pop()!.data as { cameras: Record<string, unknown> };
  t.same(counts.cameras.door, { mask: 0, no_mask: 1 });
  const snap = await fetch(`http://127.0.0.1:${port}${rows[0].snapshotUrl}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(snap.status, 200);
  t.same(Buffer.from(await snap.arrayBuffer()), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  t.equal((await fetch(`http://127.0.0.1:${port}${rows[0].snapshotUrl}`)).status, 401, 'the snapshot needs the token');

  publisher.emit('publish', 's/dev/model/state', JSON.stringify({ active: { name: 'm', version: '2' } }), { qos: 1, retain: true });
  await s.until(() => s.events.some((e) => e.event === 'model' && e.data !== null), 'model state');

  s.close();
  const end = Date.now() + 10000;
  while (d.watchers > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  t.equal(d.watchers, 0);
  t.equal(d.live, null, 'the hook is gone with the last client');
});

t.test('the token: the shell is public, data is not; the cookie session', async (t) => {
  const { port } = await setup(t);
  const base = `http://127.0.0.1:${port}`;
  const shell = await fetch(`${base}/`);
  t.equal(shell.status, 200);
  t.match(await shell.text(), '<script type="module" src="/ui/app.js">');
  t.equal((await fetch(`${base}/ui/app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.equal((await fetch(`${base}/ui/nope.js`)).status, 404);
  t.equal((await fetch(`${base}/ui/..%2F..%2Fpackage.json`)).status, 404, 'no path out of the page folder (files are served from a list read at start)');
  const s = stream(port, {});
  await s.until(() => s.status() !== 0, 'answer');
  t.equal(s.status(), 401);
  t.same(s.events, []);
  t.equal((await fetch(`${base}/session`)).status, 401);
  const bad = await fetch(`${base}/session`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
  t.equal(bad.status, 401);
  t.equal(bad.headers.get('set-cookie'), null);
  const good = await fetch(`${base}/session`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(good.status, 204);
  const cookie = good.headers.get('set-cookie')!.split(';')[0];
  t.equal((await fetch(`${base}/session`, { headers: { cookie } })).status, 204);
  const c = stream(port, { cookie });
  await c.until(() => c.events.length > 0, 'hello');
  t.equal(c.status(), 200, 'the cookie opens the stream');
  c.close();
  t.equal((await fetch(`${base}/session`, { method: 'DELETE' })).status, 405);
});
