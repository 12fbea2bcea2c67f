/**
 * Subscribe to an MQTT broker and gather what arrives (mqtt.js 5).
 *
 *   const msgs = await collect(url, 'edge/+/events', { until: (m) => m.length >= 3, timeoutMs: 5000 });
 *   const hit = await waitFor(url, 'edge/cam1/status', (m) => m.payload.includes('online'), 5000);
 *
 * To avoid missing messages published right after you start listening, use the collector form and
 * wait for `ready` (the SUBACK) before publishing:
 *
 *   const c = startCollector(url, 'a/#', { until: (m) => m.length >= 10, timeoutMs: 5000 });
 *   await c.ready;  ...publish...;  const msgs = await c.done;
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1 | 2;
}

export interface CollectOptions {
  /** Stop as soon as this returns true for the messages so far. */
  until?: (msgs: Msg[]) => boolean;
  /**
   * Without `until`: collect for this long, then resolve with everything.
   * With `until`: give up after this long and reject (the error carries `.messages`).
   */
  timeoutMs: number;
  /** Subscription QoS (default 1). */
  qos?: 0 | 1 | 2;
  /** Extra mqtt.js client options (username, password, ca, protocolVersion, ...). */
  clientOptions?: IClientOptions;
}

export interface Collector {
  /** Resolves once the subscription is granted (SUBACK); retained messages follow it. */
  ready: Promise<void>;
  /** Resolves with the messages (see CollectOptions.timeoutMs). */
  done: Promise<Msg[]>;
  /** Messages so far (live array). */
  messages: Msg[];
  /** Ends collecting now; `done` resolves with what was gathered. */
  close(): Promise<void>;
}

export class CollectTimeoutError extends Error {
  constructor(
    message: string,
    readonly messages: Msg[],
  ) {
    super(message);
    this.name = 'CollectTimeoutError';
  }
}

let seq = 0;

export function startCollector(url: string, topic: string | string[], opts: CollectOptions): Collector {
  const messages: Msg[] = [];
  const client: MqttClient = mqtt.connect(url, {
    clientId: `collect-${process.pid}-${++seq}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: Math.min(opts.timeoutMs, 10_000),
    ...opts.clientOptions,
  });

  let settled = false;
  let resolveDone!: (m: Msg[]) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<Msg[]>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  // Callers may await only one of the two: never let the other become an unhandled rejection.
  ready.catch(() => {});
  done.catch(() => {});

  const end = () => new Promise<void>((res) => client.end(true, {}, () => res()));
  const finish = async (err?: Error) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    await end();
    rejectReady(err ?? new Error('collector closed before the subscription was granted'));
    if (err) rejectDone(err);
    else resolveDone(messages);
  };

  const timer = setTimeout(() => {
    if (opts.until) {
      const topics = Array.isArray(topic) ? topic.join(', ') : topic;
      void finish(
        new CollectTimeoutError(
          `collect(${url}, ${topics}): condition not met within ${opts.timeoutMs} ms; got ${messages.length} message(s)` +
            (messages.length ? `, last: ${JSON.stringify(messages[messages.length - 1])}` : ''),
          messages,
        ),
      );
    } else {
      void finish();
    }
  }, opts.timeoutMs);

  client.on('message', (t, payload, packet) => {
    if (settled) return;
    messages.push({ topic: t, payload: payload.toString('utf8'), retain: packet.retain, qos: packet.qos });
    if (opts.until?.(messages)) void finish();
  });
  client.on('error', (err) => void finish(err));
  client.on('close', () => {
    if (!settled) void finish(new Error(`collect(${url}): connection closed`));
  });
  client.on('connect', () => {
    client.subscribe(topic, { qos: opts.qos ?? 1 }, (err, granted) => {
      if (err) return void finish(err);
      const refused = (granted ?? []).find((g) => g.qos === 128);
      if (refused) return void finish(new Error(`collect(${url}): subscription to ${refused.topic} refused`));
      resolveReady();
      // `until` may already hold for zero messages.
      if (opts.until?.(messages)) void finish();
    });
  });

  return { ready, done, messages, close: () => finish() };
}

/** Subscribes to `topic` and gathers messages; see CollectOptions for when it resolves. */
export function collect(url: string, topic: string | string[], opts: CollectOptions): Promise<Msg[]> {
  return startCollector(url, topic, opts).done;
}

/** The first message on `topic` for which `predicate` holds; rejects after `timeoutMs`. */
export async function waitFor(
  url: string,
  topic: string | string[],
  predicate: (msg: Msg) => boolean,
  timeoutMs: number,
  clientOptions?: IClientOptions,
): Promise<Msg> {
  let hit: Msg | undefined;
  await collect(url, topic, {
    timeoutMs,
    clientOptions,
    until: (msgs) => {
      const last = msgs[msgs.length - 1];
      if (last !== undefined && predicate(last)) hit = last;
      return hit !== undefined;
    },
  });
  return hit!;
}
