// Per-person events (MqttLink.publishDurable: QoS 1, NOT retained, through the outbox) survive a broker
// outage and a restart of the daemon; snapshots (publishRetainedBinary) keep only the newest per
// topic and arrive as the same bytes; every publish is announced by the link's local 'publish' event.
// Real mosquitto.
import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MqttLink } from '../../daemon/mqtt/link.js';
import { Outbox } from '../../daemon/mqtt/outbox.js';
import { createLogger } from '../../daemon/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startCollector } from '../helpers/mqtt-collect.js';
import { until } from '../helpers/poll.js';

const log = createLogger('error', () => undefined);
const opts = (url: string, clientId = 'people-outbox') => ({ url, username: '', password: '', clientId, keepaliveSec: 2, reconnectMinMs: 200, reconnectMaxMs: 500, qos: 1 as const, statusTopic: 'site/edge-1/status' });

t.test('events: none lost over a broker outage, not retained, announced locally', async (t) => {
  const broker = await startMosquitto();
  const port = broker.port;
  const file = join(t.testdir({}), 'outbox.json');
  const link = new MqttLink(opts(broker.url), log, new Outbox({ max: 100, file }));
  const announced: [string, string | Buffer, { qos: number; retain: boolean }][] = [];
  link.on('publish', (topic, payload, o) => announced.push([topic, payload, o]));
  await link.start(5000);
  await broker.stop();
  await until(() => !link.stats.connected, 5000);
  for (let i = 1; i <= 10; i++) link.publishDurable('site/door/mask/events', JSON.stringify({ type: 'enter', n: i }));
  t.equal(link.outbox!.size, 10, 'queued while the broker is away');
  t.equal(announced.length, 10, "a local 'publish' event for each, also while queued");
  t.same(announced[0][2], { qos: 1, retain: false });
  const broker2 = await startMosquitto({ port });
  t.teardown(() => broker2.stop());
  const col = startCollector(broker2.url, 'site/door/mask/events', { timeoutMs: 20000, qos: 1, until: (m) => m.length >= 10 });
  await col.ready;
  const msgs = await col.done;
  t.same(msgs.map((m) => JSON.parse(m.payload).n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every event, in order');
  t.ok(await until(() => link.outbox!.size === 0, 5000), 'outbox drained');
  // not retained: a new subscriber gets nothing
  const late = await startCollector(broker2.url, 'site/door/mask/events', { timeoutMs: 1500, qos: 1 }).done;
  t.equal(late.length, 0, 'events are not retained');
  await link.stop();
});

t.test('events in the outbox file are sent by the next daemon; a snapshot is binary, retained, newest only', async (t) => {
  const broker = await startMosquitto();
  const file = join(t.testdir({}), 'outbox.json');
  const a = new MqttLink(opts(broker.url), log, new Outbox({ max: 100, file }));
  await a.start(5000);
  await broker.stop();
  await until(() => !a.stats.connected, 5000);
  a.publishDurable('site/door/mask/events', 'leave-1');
  a.publishRetainedBinary('site/door/mask/snapshot', Buffer.from([0xff, 0xd8, 1, 2, 3]));
  a.publishRetainedBinary('site/door/mask/snapshot', Buffer.from([0xff, 0xd8, 0xff, 0xd9, 0x00, 0x80]));
  a.publishDurable('site/door/mask/events', 'leave-2');
  // "crash": only the file remains
  const broker2 = await startMosquitto();
  t.teardown(() => broker2.stop());
  const col = startCollector(broker2.url, 'site/door/mask/events', { timeoutMs: 15000, qos: 1, until: (m) => m.length >= 2 });
  await col.ready;
  const b = new MqttLink(opts(broker2.url, 'people-outbox-2'), log, new Outbox({ max: 100, file }));
  t.equal(b.outbox!.size, 3, 'two events and one snapshot (the newer replaced the older) in the file');
  await b.start(5000);
  t.same((await col.done).map((m) => m.payload), ['leave-1', 'leave-2']);
  t.ok(await until(() => b.outbox!.size === 0, 5000));
  // the retained snapshot, as bytes
  const c = await mqtt.connectAsync(broker2.url);
  const got = new Promise<{ payload: Buffer; retain: boolean }>((resolve) => c.on('message', (_t, payload, p) => resolve({ payload, retain: p.retain })));
  await c.subscribeAsync('site/door/mask/snapshot', { qos: 1 });
  const snap = await got;
  t.same([...snap.payload], [0xff, 0xd8, 0xff, 0xd9, 0x00, 0x80], 'the newest snapshot, byte for byte');
  t.ok(snap.retain, 'retained');
  await c.endAsync();
  await b.stop();
  await a.stop().catch(() => undefined);
});
