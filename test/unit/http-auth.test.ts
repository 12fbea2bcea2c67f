// The local HTTP server with a bearer token: everything but a minimal /healthz needs it.
import t from 'tap';
import { authorized, startHttp } from '../../daemon/http/server.js';
import { Metrics } from '../../daemon/http/metrics.js';
import { SESSION_COOKIE, cookieValue, requestAuthorized, sessionSetCookie, sessionValue } from '../../daemon/http/auth.js';
import type { HealthReport } from '../../daemon/watchdog.js';

const TOKEN = 'a-long-enough-token-123';
const reportOf = (healthy: boolean): HealthReport => ({
  ts: new Date(0).toISOString(), healthy, reasons: healthy ? [] : ['starting'], uptimeSec: 1, pid: 1,
  engine: { state: 'ready', provider: 'cpu', model: { name: 'm', version: '1' }, restarts: 0, restartsInWindow: 0, errors: 0, lastError: null, pid: 2 },
  cameras: {},
  mqtt: { connected: true, published: 0, dropped: 0, reconnects: 0, outbox: { queued: 0, dropped: 0 } },
});

t.test('bearer token check', async (t) => {
  t.ok(authorized(`Bearer ${TOKEN}`, TOKEN));
  t.notOk(authorized(`Bearer ${TOKEN}x`, TOKEN));
  t.notOk(authorized(TOKEN, TOKEN), 'the scheme is required');
  t.notOk(authorized(undefined, TOKEN));
  t.notOk(authorized('Bearer ', TOKEN));
});

t.test('a server with a token', async (t) => {
  const report = reportOf(true);
  const metrics = new Metrics(() => report);
  const route = (url: string, _req: unknown, res: import('node:http').ServerResponse) => (url === '/preview' ? (res.writeHead(200).end('page'), true) : false);
  const srv = await startHttp('127.0.0.1', 0, () => report, metrics, [route], TOKEN);
  t.teardown(() => srv.close());
  const base = `http://127.0.0.1:${srv.port}`;
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

  const h = await fetch(`${base}/healthz`);
  t.equal(h.status, 200);
  t.same(await h.json(), { healthy: true }, 'without the token: only healthy');
  t.same(await (await fetch(`${base}/healthz`, auth)).json(), report, 'with it: the full report');

  for (const path of ['/metrics', '/preview', '/nothing']) {
    const r = await fetch(base + path);
    t.equal(r.status, 401, `${path} without the token`);
    t.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  t.equal((await fetch(`${base}/metrics`, auth)).status, 200);
  t.equal(await (await fetch(`${base}/preview`, auth)).text(), 'page');
  t.equal((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
});

t.test('no token: local use, open', async (t) => {
  const report = reportOf(false);
  const srv = await startHttp('127.0.0.1', 0, () => report, new Metrics(() => report));
  t.teardown(() => srv.close());
  const r = await fetch(`http://127.0.0.1:${srv.port}/healthz`);
  t.equal(r.status, 503);
  t.same(await r.json(), report);
  t.equal((await fetch(`http://127.0.0.1:${srv.port}/metrics`)).status, 200);
});

t.test('the dashboard session cookie: HMAC of the token, HttpOnly, SameSite=Strict', async (t) => {
  const v = sessionValue(TOKEN);
  t.notMatch(v, TOKEN, 'not the token itself');
  t.equal(v, sessionValue(TOKEN), 'stable for a token');
  t.not(v, sessionValue(`${TOKEN}x`), 'another token, another cookie');
  t.match(sessionSetCookie(TOKEN), /^mne_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
  t.equal(cookieValue(`a=1; ${SESSION_COOKIE}=${v}; b=2`, SESSION_COOKIE), v);
  t.equal(cookieValue('a=1', SESSION_COOKIE), undefined);
  t.ok(requestAuthorized({ cookie: `${SESSION_COOKIE}=${v}` }, TOKEN));
  t.ok(requestAuthorized({ authorization: `Bearer ${TOKEN}` }, TOKEN));
  t.notOk(requestAuthorized({ cookie: `${SESSION_COOKIE}=${sessionValue('another-token-0000000')}` }, TOKEN));
  t.notOk(requestAuthorized({ cookie: `${SESSION_COOKIE}=${TOKEN}` }, TOKEN), 'the raw token as cookie is no session');
  t.notOk(requestAuthorized({}, TOKEN));
  t.ok(requestAuthorized({}, ''), 'no token configured: open (loopback only)');
});
