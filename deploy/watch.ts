// edgectl watch: subscribe to a site's results (or, with --people, its per-person events) and print them as a readable table.
import mqtt from 'mqtt';

export const WATCH_HEADER = `${'time'.padEnd(12)} ${'camera'.padEnd(10)} ${'frame'.padStart(7)} ${'label'.padEnd(9)} ${'score'.padStart(6)} ${'latency'.padStart(8)}  model`;

/** One table row for a message; null for messages that are not results. */
export function formatRow(topic: string, payload: string): string | null {
  if (topic.endsWith('/status')) return `${new Date().toISOString().slice(11, 23)} ${topic.split('/')[1]} is ${payload}`;
  let r: { camera?: string; frame?: number; ts?: string; label?: string; score?: number; latencyMs?: number; model?: { name: string; version: string }; faces?: unknown[] };
  try {
    r = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null || typeof r.label !== 'string') return null;
  const time = (r.ts ?? new Date().toISOString()).slice(11, 23);
  const score = typeof r.score === 'number' ? r.score.toFixed(3) : '';
  const lat = typeof r.latencyMs === 'number' ? `${r.latencyMs} ms` : '';
  const model = r.model ? `${r.model.name}@${r.model.version}` : '';
  return `${time.padEnd(12)} ${String(r.camera ?? topic.split('/')[1]).padEnd(10)} ${String(r.frame ?? '').padStart(7)} ${r.label.padEnd(9)} ${score.padStart(6)} ${lat.padStart(8)}  ${model}`;
}

export const PEOPLE_HEADER = `${'time'.padEnd(12)} ${'camera'.padEnd(10)} ${'event'.padEnd(8)} ${'person'.padEnd(8)} ${'label'.padEnd(9)} ${'score'.padStart(6)} ${'readings'.padStart(8)} ${'duration'.padStart(9)}  snapshot`;

/** One table row for a per-person event ({site}/{camera}/mask/events); null for anything else. */
export function formatPersonRow(topic: string, payload: string): string | null {
  if (topic.endsWith('/status')) return formatRow(topic, payload);
  let e: { type?: string; camera?: string; track?: number; at?: string; label?: string | null; score?: number | null; readings?: number; durationMs?: number; snapshot?: boolean };
  try {
    e = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof e !== 'object' || e === null || !['enter', 'verdict', 'leave'].includes(e.type ?? '')) return null;
  const time = (e.at ?? new Date().toISOString()).slice(11, 23);
  const score = typeof e.score === 'number' ? e.score.toFixed(3) : '';
  const dur = typeof e.durationMs === 'number' ? `${(e.durationMs / 1000).toFixed(1)} s` : '';
  return `${time.padEnd(12)} ${String(e.camera ?? topic.split('/')[1]).padEnd(10)} ${e.type!.padEnd(8)} ${`#${e.track ?? ''}`.padEnd(8)} ${String(e.label ?? '-').padEnd(9)} ${score.padStart(6)} ${String(e.readings ?? '').padStart(8)} ${dur.padStart(9)}  ${e.snapshot ? 'yes' : ''}`;
}

export async function watch(opts: { broker: string; site: string; camera: string; count?: number; people?: boolean } & Pick<mqtt.IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'>, out: (l: string) => void): Promise<void> {
  const client = mqtt.connect(opts.broker, { username: opts.username || undefined, password: opts.password || undefined, ca: opts.ca, cert: opts.cert, key: opts.key, reconnectPeriod: 2000 });
  const topicsToWatch = [opts.people ? `${opts.site}/${opts.camera}/mask/events` : `${opts.site}/${opts.camera}/mask`, `${opts.site}/+/status`];
  const format = opts.people ? formatPersonRow : formatRow;
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    client.on('connect', () => {
      client.subscribe(topicsToWatch, { qos: opts.people ? 1 : 0 }, (err) => (err ? reject(err) : out(opts.people ? PEOPLE_HEADER : WATCH_HEADER)));
    });
    client.on('error', (e) => process.stderr.write(`edgectl watch: ${e.message}\n`));
    client.on('message', (topic, payload) => {
      const row = format(topic, payload.toString());
      if (!row) return;
      out(row);
      if (opts.count && (topic.endsWith('/mask') || topic.endsWith('/mask/events')) && ++n >= opts.count) resolve();
    });
    process.once('SIGINT', () => resolve());
  });
  await client.endAsync();
}
