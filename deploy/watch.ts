// edgectl watch: subscribe to a site's results and print them as a readable table.
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

export async function watch(opts: { broker: string; site: string; camera: string; count?: number } & Pick<mqtt.IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'>, out: (l: string) => void): Promise<void> {
  const client = mqtt.connect(opts.broker, { username: opts.username || undefined, password: opts.password || undefined, ca: opts.ca, cert: opts.cert, key: opts.key, reconnectPeriod: 2000 });
  const topicsToWatch = [`${opts.site}/${opts.camera}/mask`, `${opts.site}/+/status`];
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    client.on('connect', () => {
      client.subscribe(topicsToWatch, { qos: 0 }, (err) => (err ? reject(err) : out(WATCH_HEADER)));
    });
    client.on('error', (e) => process.stderr.write(`edgectl watch: ${e.message}\n`));
    client.on('message', (topic, payload) => {
      const row = formatRow(topic, payload.toString());
      if (!row) return;
      out(row);
      if (opts.count && topic.endsWith('/mask') && ++n >= opts.count) resolve();
    });
    process.once('SIGINT', () => resolve());
  });
  await client.endAsync();
}
