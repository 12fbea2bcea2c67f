// State events through MqttLink.publishRetained survive a broker outage and a crash of the daemon:
// real mosquitto, stopped and restarted on the same port; the outbox file is reopened by a new link.
import t from 'tap';
import { join } from 'node:path';
import { MqttLink } from '../../daemon/mqtt/link.js';
import { Outbox } from '../../daemon/mqtt/outbox.js';
import { createLogger } from '../../daemon/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startCollector } from '../helpers/mqtt-collect.js';
import { until } from '../helpers/poll.js';

const log = createLogger('error', () => undefined);
const opts = (url: string) => ({ url, username: '', password: '', clientId: 'outbox-test', keepaliveSec: 2, reconnectMinMs: 200, reconnectMaxMs: 500, qos: 1 as const, statusTopic: 'site/edge-1/status' });

t.test('events queued during a broker outage arrive after reconnect, in order, none lost', async (t) => {
  const broker = await startMosquitto();
  const port = broker.port;
  const file = join(t.testdir({}), 'outbox.json');
  const link = new MqttLink(opts(broker.url), log, new Outbox({ max: 100, file }));
  await link.start(5000);
  link.publishRetained('site/door/state', 'e0');
  // e0 acknowledged before the outage (else it waits in the outbox too, as it should, and the count differs)
  t.ok(await until(() => link.outbox!.size === 0, 5000), 'e0 delivered before the outage');
  await broker.stop();
  t.ok(await until(() => !link.stats.connected, 5000), 'the link saw the broker go');
  for (let i = 1; i <= 30; i++) link.publishRetained('site/door/state', `e${i}`);
  t.equal(link.outbox!.size, 30, 'queued while the broker is away');
  const broker2 = await startMosquitto({ port });
  t.teardown(() => broker2.stop());
  const col = startCollector(broker2.url, 'site/door/state', { timeoutMs: 20000, qos: 1, until: (m) => m.some((x) => x.payload === 'e30') });
  await col.ready;
  const msgs = await col.done;
  // The retained copy of whatever was last delivered may come first; after it, every event in order.
  // QoS 1 is at least once: an event sent again after a lost acknowledgement may arrive twice in a row.
  const got = msgs.map((m) => m.payload).filter((p, i, a) => p !== 'e0' && p !== a[i - 1]);
  const from = got.indexOf('e1');
  t.same(got.slice(from), Array.from({ length: 30 }, (_, i) => `e${i + 1}`), 'all 30 events, in order');
  t.ok(await until(() => link.outbox!.size === 0, 5000), 'outbox drained');
  await link.stop();
});

t.test('events in the outbox file are sent by the next daemon (crash while the broker was away)', async (t) => {
  const broker = await startMosquitto();
  const file = join(t.testdir({}), 'outbox.json');
  const a = new MqttLink(opts(broker.url), log, new Outbox({ max: 100, file }));
  await a.start(5000);
  await broker.stop();
  await until(() => !a.stats.connected, 5000);
  a.publishRetained('site/door/state', 'before-crash-1');
  a.publishRetained('site/door/state', 'before-crash-2');
  // "crash": the link is abandoned without a clean stop; only the file remains.
  const broker2 = await startMosquitto(); // a fresh broker: nothing retained there yet
  t.teardown(() => broker2.stop());
  const col = startCollector(broker2.url, 'site/door/state', { timeoutMs: 15000, qos: 1, until: (m) => m.some((x) => x.payload === 'before-crash-2') });
  await col.ready;
  const b = new MqttLink({ ...opts(broker2.url), clientId: 'outbox-test-2' }, log, new Outbox({ max: 100, file }));
  t.equal(b.outbox!.size, 2, 'the new link found both events in the file');
  await b.start(5000);
  const msgs = await col.done;
  t.same(msgs.map((m) => m.payload), ['before-crash-1', 'before-crash-2']);
  await b.stop();
  await a.stop().catch(() => undefined);
});

t.test('bounded: beyond maxMessages the oldest are dropped and counted', async (t) => {
  const link = new MqttLink(opts('mqtt://127.0.0.1:1'), log, new Outbox({ max: 5, file: null }));
  for (let i = 0; i < 8; i++) link.publishRetained('s', String(i));
  t.equal(link.outbox!.size, 5);
  t.equal(link.outbox!.dropped, 3);
});
