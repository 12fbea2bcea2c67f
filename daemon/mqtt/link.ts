// The daemon's MQTT session: availability (retained birth, Last Will, clean-stop message),
// per-frame results (dropped and counted while the broker is away), reconnect with backoff.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { explainMqttError, type MqttCause } from './errors.js';
import type { Logger } from '../log.js';
import { maskUrlPasswords } from '../secrets.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { monoMs } from '../../pipelines/clock.js';

export interface MqttOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  keepaliveSec: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  qos: 0 | 1 | 2;
  /** Availability topic: retained "online" / "offline" (will) / "stopped". */
  statusTopic: string;
  /** TLS (mqtts://, wss://): PEM files; rejectUnauthorized defaults to true. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  rejectUnauthorized?: boolean;
  /** 5 (default) reports refused publishes; the embedded broker speaks 4. */
  protocolVersion?: 4 | 5;
  /** MQTT 5 Maximum Packet Size sent on connect: the broker delivers nothing larger to this client. */
  maxPacketBytes?: number;
}

/** mqtt.js options for these settings (TLS files read here). Shared with --check-config --connect. */
export function clientOptions(o: MqttOptions): IClientOptions {
  return {
    clientId: o.clientId,
    username: o.username || undefined,
    password: o.password || undefined,
    keepalive: o.keepaliveSec,
    reconnectPeriod: o.reconnectMinMs,
    connectTimeout: 10000,
    clean: true,
    queueQoSZero: false,
    protocolVersion: o.protocolVersion ?? 5,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
    ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
    ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
    will: { topic: o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    ...(o.maxPacketBytes && (o.protocolVersion ?? 5) === 5 ? { properties: { maximumPacketSize: o.maxPacketBytes } } : {}),
  };
}

export interface MqttStats {
  connected: boolean;
  published: number;
  dropped: number;
  reconnects: number;
  lastError: string | null;
  /** What kind of problem lastError is; config problems (credentials, certificates, ACL) need a person. */
  lastErrorCause: MqttCause | null;
  /** QoS 1/2 publishes the broker refused (not authorized, reason code 135). */
  denied: number;
}

/** Options of a local 'publish' event (everything the daemon publishes, also while it waits in the outbox). */
export interface PublishEventOptions {
  qos: 0 | 1 | 2;
  retain: boolean;
}

/**
 * Emits 'publish' (topic, payload: string | Buffer, options: PublishEventOptions) for everything it is
 * asked to publish (a per-frame result dropped while the broker is away is not emitted).
 */
export class MqttLink extends EventEmitter {
  private client: MqttClient | null = null;
  readonly stats: MqttStats = { connected: false, published: 0, dropped: 0, reconnects: 0, lastError: null, lastErrorCause: null, denied: 0 };
  private lastLogged = '';
  private delay: number;
  private inFlight: OutboxEntry | null = null;
  private readonly subs = new Map<string, (payload: Buffer, topic: string) => void>();

  /** outbox: where retained state events wait while the broker is away (bounded; see daemon/mqtt/outbox.ts). */
  constructor(
    private readonly opts: MqttOptions,
    private readonly log: Logger,
    readonly outbox: Outbox | null = null,
  ) {
    super();
    this.delay = opts.reconnectMinMs;
  }

  /** Connect and resolve once the first CONNACK arrives (or reject after timeoutMs; reconnecting goes on). */
  start(timeoutMs = 10000): Promise<void> {
    const o = this.opts;
    const client = mqtt.connect(o.url, clientOptions(o));
    this.client = client;
    client.on('connect', () => {
      this.stats.connected = true;
      this.configProblem = false;
      this.lastLogged = '';
      this.delay = o.reconnectMinMs;
      client.options.reconnectPeriod = this.delay;
      this.log.info('mqtt connected', { url: redact(o.url) });
      client.publish(o.statusTopic, 'online', { qos: 1, retain: true });
      this.inFlight = null; // an unacknowledged one is sent again (at least once)
      this.flush();
      for (const topic of this.subs.keys()) client.subscribe(topic, { qos: 1 });
    });
    client.on('message', (topic, payload) => this.subs.get(topic)?.(payload, topic));
    client.on('close', () => {
      if (this.stats.connected) this.log.warn('mqtt connection lost', { url: redact(o.url) });
      this.stats.connected = false;
    });
    client.on('reconnect', () => {
      this.stats.reconnects++;
      // Exponential backoff between attempts: mqtt.js reads reconnectPeriod each time.
      // A refused login or a bad certificate will not fix itself: wait the longest delay.
      this.delay = this.configProblem ? o.reconnectMaxMs : Math.min(o.reconnectMaxMs, this.delay * 2);
      client.options.reconnectPeriod = this.delay;
    });
    client.on('error', (e) => this.problem(e, 'connect'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no connection to MQTT broker ${redact(o.url)} within ${timeoutMs} ms${this.stats.lastError ? `: ${this.stats.lastError}` : ''}`)), timeoutMs);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Per-frame data: published only while connected, else dropped and counted. */
  publishFrame(topic: string, payload: string): boolean {
    const c = this.client;
    if (!c || !c.connected) {
      this.stats.dropped++;
      return false;
    }
    c.publish(topic, payload, { qos: this.opts.qos, retain: false }, (err) => err && this.refused(err, topic));
    this.stats.published++;
    this.emit('publish', topic, payload, { qos: this.opts.qos, retain: false });
    return true;
  }

  /**
   * Retained state (QoS 1). With an outbox, the event waits there (bounded, on disk when configured)
   * until the broker acknowledges it, in order, one at a time; `coalesce` keeps only the newest queued
   * event of the topic (health reports). Without one, mqtt.js keeps it in its offline queue.
   */
  publishRetained(topic: string, payload: string, opts: { coalesce?: boolean } = {}): void {
    this.viaOutbox(topic, payload, true, { ...(opts.coalesce ? { coalesce: true } : {}) });
  }

  /**
   * A per-person event (QoS 1, not retained) that must not be lost: through the outbox like state
   * (in order, kept across a broker outage and, with outbox.dir, a restart). Without an outbox,
   * mqtt.js's offline queue.
   */
  publishDurable(topic: string, payload: string): void {
    this.viaOutbox(topic, payload, false, { retain: false });
  }

  /** Binary retained (a snapshot, QoS 1): only the newest per topic waits in the outbox. */
  publishRetainedBinary(topic: string, payload: Buffer): void {
    this.viaOutbox(topic, payload, true, { base64: true, coalesce: true });
  }

  /** QoS 1 through the outbox when there is one (binary payloads stored as base64), else straight to mqtt.js. */
  private viaOutbox(topic: string, payload: string | Buffer, retain: boolean, entry: Partial<OutboxEntry>): void {
    this.emit('publish', topic, payload, { qos: 1, retain });
    if (!this.outbox) {
      this.client?.publish(topic, payload, { qos: 1, retain });
      return;
    }
    this.outbox.push({ topic, payload: typeof payload === 'string' ? payload : payload.toString('base64'), at: Date.now(), ...entry });
    this.flush();
  }

  private flush(): void {
    const c = this.client;
    const box = this.outbox;
    if (!box || !c || !c.connected || this.inFlight) return;
    const e = box.peek();
    if (!e) return;
    this.inFlight = e;
    c.publish(e.topic, e.base64 ? Buffer.from(e.payload, 'base64') : e.payload, { qos: 1, retain: e.retain !== false }, (err) => {
      if (this.inFlight !== e) return;
      this.inFlight = null;
      if (err) {
        if (this.refused(err, e.topic)) {
          box.ack(e); // the ACL will refuse it again: do not block the queue behind it
          this.flush();
          return;
        }
        this.stats.lastError = err.message;
        return; // stays queued; sent again after the next connect
      }
      box.ack(e);
      this.flush();
    });
  }

  private configProblem = false;

  /** A connection problem: explained, kept in stats (health report), logged once per distinct reason. */
  private problem(e: Error & { code?: unknown }, during: 'connect' | 'publish'): void {
    const p = explainMqttError(e, during);
    this.stats.lastError = p.message;
    this.stats.lastErrorCause = p.cause;
    if (during === 'connect' && p.config) this.configProblem = true;
    if (p.message === this.lastLogged) return;
    this.lastLogged = p.message;
    if (p.config) this.log.error(`mqtt ${during} refused: configuration or credential problem`, { cause: p.cause, err: p.message, url: redact(this.opts.url), retryingEveryMs: this.opts.reconnectMaxMs });
    else this.log.warn('mqtt error', { cause: p.cause, err: p.message });
  }

  /** A publish the broker refused (reason code 135): counted and reported. True when it was such a refusal. */
  private refused(err: Error & { code?: unknown }, topic: string): boolean {
    const p = explainMqttError(err, 'publish');
    if (p.cause !== 'not-authorized') return false;
    this.stats.denied++;
    this.stats.lastError = `${p.message} (${topic})`;
    this.stats.lastErrorCause = p.cause;
    if (this.lastLogged !== this.stats.lastError) {
      this.lastLogged = this.stats.lastError;
      this.log.error('mqtt publish refused by the broker (ACL)', { topic, cause: p.cause, err: p.message, denied: this.stats.denied });
    }
    return true;
  }

  /** Subscribe (QoS 1) to an exact topic, now and after every reconnect (clean sessions). */
  subscribe(topic: string, onMessage: (payload: Buffer, topic: string) => void): void {
    this.subs.set(topic, onMessage);
    if (this.client?.connected) this.client.subscribe(topic, { qos: 1 });
  }

  /** An event (QoS 1, not retained), queued by mqtt.js while the broker is away. */
  publishEvent(topic: string, payload: string): void {
    this.emit('publish', topic, payload, { qos: 1, retain: false });
    this.client?.publish(topic, payload, { qos: 1, retain: false });
  }

  /**
   * Clean stop: events still in the outbox (e.g. the leave events of a stopping pipeline) get up to
   * `drainMs` to reach the broker (the rest wait on disk for the next start), then retained "stopped",
   * then disconnect (no Last Will).
   */
  async stop(drainMs = 2000): Promise<void> {
    const c = this.client;
    if (!c) return;
    const until = monoMs() + drainMs;
    while (c.connected && (this.outbox?.size ?? 0) > 0 && monoMs() < until) {
      this.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    if (c.connected) {
      await new Promise<void>((resolve) => {
        c.publish(this.opts.statusTopic, 'stopped', { qos: 1, retain: true }, () => resolve());
        setTimeout(resolve, 2000).unref();
      });
    }
    await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    this.client = null;
  }
}

export const redact = (url: string): string => maskUrlPasswords(url);
