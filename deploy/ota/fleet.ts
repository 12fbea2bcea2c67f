// edgectl status / models / rollback: read the devices' retained model state, ask one to roll back.
import type { KeyObject } from 'node:crypto';
import { signCommand } from './command.js';
import type { MqttClient } from 'mqtt';
import { allStatesTopic, otaTopics, type ModelRef, type ResultPayload, type StatePayload } from './protocol.js';
import { newTransferId, type DeviceOutcome } from '../push.js';

/** Every device's retained model/state (collected for waitMs after the SUBACK). */
export async function readStates(client: MqttClient, site: string, waitMs: number): Promise<Map<string, StatePayload>> {
  const out = new Map<string, StatePayload>();
  const topic = allStatesTopic(site);
  const onMessage = (t: string, payload: Buffer) => {
    const parts = t.split('/');
    if (parts.length !== 4 || parts[0] !== site || parts[2] !== 'model' || parts[3] !== 'state') return;
    try {
      out.set(parts[1], JSON.parse(payload.toString('utf8')) as StatePayload);
    } catch {
      /* ignore junk */
    }
  };
  client.on('message', onMessage);
  await client.subscribeAsync(topic, { qos: 1 });
  await new Promise((r) => setTimeout(r, waitMs));
  client.off('message', onMessage);
  await client.unsubscribeAsync(topic).catch(() => undefined);
  return out;
}

const ref = (r: ModelRef | null | undefined) => (r ? `${r.name}@${r.version}` : '-');

export function statusTable(states: Map<string, StatePayload>): string {
  const head = `${'device'.padEnd(16)} ${'active'.padEnd(26)} ${'previous'.padEnd(26)} ${'probation'.padEnd(10)} ${'groups'.padEnd(16)} last push`;
  const rows = [...states.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([d, s]) => {
      const lp = s.lastPush ? `${s.lastPush.code} ${s.lastPush.model ? ref(s.lastPush.model) : ''} ${s.lastPush.at}`.replace(/\s+/g, ' ') : '-';
      const rb = s.lastRollback ? `; rolled back ${ref(s.lastRollback.from)} → ${ref(s.lastRollback.to)} (${s.lastRollback.reason})` : '';
      const warn = s.allowUnsigned ? ' [allowUnsigned!]' : '';
      return `${d.padEnd(16)} ${ref(s.active).padEnd(26)} ${ref(s.previous).padEnd(26)} ${(s.probationUntil ? 'yes' : 'no').padEnd(10)} ${(s.groups?.join(',') || '-').padEnd(16)} ${lp}${rb}${warn}`;
    });
  return [head, ...rows].join('\n');
}

export function modelsTable(s: StatePayload): string {
  const bad = (v: ModelRef) => (s.bad ?? []).find((b) => sameRef(v, b));
  return ['version                    state', ...s.versions.map((v) => `${ref(v).padEnd(26)} ${sameRef(v, s.active) ? 'active' : sameRef(v, s.previous) ? 'previous' : bad(v) ? `bad (rolled back: ${bad(v)!.reason})` : 'kept'}`)].join('\n');
}

const sameRef = (a: ModelRef, b: ModelRef | null) => !!b && a.name === b.name && a.version === b.version;

/** Ask a device to roll back. Devices accept only signed commands: pass the operator's ed25519 key (edgectl rollback --key). */
export async function requestRollback(client: MqttClient, site: string, device: string, timeoutMs: number, key?: KeyObject): Promise<DeviceOutcome> {
  const t0 = Date.now();
  const requestId = newTransferId();
  const topics = otaTopics(site, device);
  let done!: (r: ResultPayload) => void;
  const result = new Promise<ResultPayload>((r) => (done = r));
  const onMessage = (t: string, payload: Buffer) => {
    if (t === topics.result(requestId)) done(JSON.parse(payload.toString('utf8')));
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(topics.result(requestId), { qos: 1 });
    await client.publishAsync(topics.rollback, key ? signCommand({ cmd: 'rollback', site, deviceId: device, requestId }, key) : JSON.stringify({ requestId }), { qos: 1 });
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([result, new Promise<null>((res) => (timer = setTimeout(() => res(null), timeoutMs)))]);
    clearTimeout(timer);
    if (!r) return { device, ok: false, code: 'NO_ANSWER', message: `no answer within ${timeoutMs} ms`, ms: Date.now() - t0 };
    return { device, ok: r.ok, code: r.code, message: r.message, ms: Date.now() - t0, result: r };
  } finally {
    client.off('message', onMessage);
  }
}
