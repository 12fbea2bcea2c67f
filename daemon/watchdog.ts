// The supervisor's own watchdog: once a second it reads every component (cameras, engine, MQTT),
// charges restarts to each one's budget, evaluates health (daemon/health.ts), publishes the health
// report (retained, every healthIntervalSec and at once on a change), and talks to systemd:
// READY=1 once the model is loaded and a first frame is classified (or after readyTimeoutSec),
// STATUS=…, WATCHDOG=1 at half of WATCHDOG_USEC only while healthy, STOPPING=1 on shutdown.
// While an engine is being built before READY=1 (TensorRT's first start takes minutes), it sends
// EXTEND_TIMEOUT_USEC every EXTEND_EVERY_MS so systemd's start timeout does not kill the build, and
// STATUS=building TensorRT engine for <model> (first start). A build is not "engine down".
// If the event loop is blocked nothing here runs, so systemd stops hearing WATCHDOG=1 as well.
import { monoMs } from '../pipelines/clock.js';
import { RestartBudget } from '../pipelines/budget.js';
import type { WatchdogConfig } from './config/watchdog.js';
import type { Engine } from '../pipelines/engines/engine.js';
import { changeKey, evaluate, rate, type ComponentSnapshot, type HealthPolicy, type Verdict } from './health.js';
import type { Logger } from './log.js';
import type { MqttLink } from './mqtt/link.js';
import { Notifier, watchdogIntervalMs } from './notify.js';
import type { Pipeline } from '../pipelines/pipeline.js';
import type { PeopleCountsReport } from '../pipelines/tracking/counts.js';

export interface CameraHealth {
  state: string;
  fps: number;
  frames: number;
  results: number;
  dropped: number;
  /** Frames answered with the last result (motion gating); published like results. */
  reused: number;
  restarts: number;
  restartsInWindow: number;
  lastError: string | null;
  stderr: string[];
  pid: number | null;
}

export interface HealthReport {
  ts: string;
  healthy: boolean;
  reasons: string[];
  uptimeSec: number;
  pid: number;
  engine: {
    state: string;
    provider: string | null;
    model: { name: string; version: string } | null;
    restarts: number;
    restartsInWindow: number;
    errors: number;
    lastError: string | null;
    pid: number | null;
    /** Engine worker processes serving frames (engine.workers). */
    workers: number;
    /** While state is "building": what is built, by which provider, why, for how long so far. */
    building: { model: string; provider: string; reason: string; forSec: number; firstStart: boolean } | null;
  };
  cameras: Record<string, CameraHealth>;
  mqtt: { connected: boolean; published: number; dropped: number; reconnects: number; denied?: number; lastError?: string | null; outbox: { queued: number; dropped: number } };
  /** People per camera and final verdict, since start and over the last hour (issue 14; with people.enabled). */
  people?: Record<string, PeopleCountsReport>;
}

interface Tracked {
  budget: RestartBudget;
  restarts: number;
  /** When the component last became running (or restarted while running); 0 = not running. */
  upSince: number;
  frames: number;
  framesAt: number;
  fps: number;
}

/** While building before READY=1: EXTEND_TIMEOUT_USEC this often, each extending by EXTEND_BY_USEC. */
export const EXTEND_EVERY_MS = 10_000;
export const EXTEND_BY_USEC = 30_000_000;

export class Watchdog {
  // Monotonic ms (pipelines/clock.ts, D165): a step of the wall clock is neither an outage nor a restart window.
  private lastExtend = -Infinity;
  private engineReadyAt = 0;
  private tracked = new Map<string, Tracked>();
  private timers: NodeJS.Timeout[] = [];
  private lastKey = '';
  private lastPublish = -Infinity;
  private engineDownSince: number;
  private readonly startedAt = monoMs();
  readySent = false;
  verdict: Verdict = { healthy: true, reasons: [], failed: [] };
  report: HealthReport | null = null;
  readonly policy: HealthPolicy;
  readonly notifier: Notifier;

  constructor(
    private readonly cfg: WatchdogConfig,
    private readonly parts: { pipeline: Pipeline; engine: Engine; mqtt: MqttLink; healthTopic: string; people?: (nowMs: number) => Record<string, PeopleCountsReport> },
    private readonly log: Logger,
    env: NodeJS.ProcessEnv,
  ) {
    this.policy = {
      budgetMax: cfg.budgetRestarts,
      budgetWindowMs: cfg.budgetWindowSec * 1000,
      healthyResetMs: cfg.healthyResetSec * 1000,
      engineDownMs: cfg.engineDownSec * 1000,
    };
    this.notifier = new Notifier(env);
    this.engineDownSince = monoMs();
    this.wdInterval = watchdogIntervalMs(env, process.pid);
  }

  private readonly wdInterval: number | null;

  start(): void {
    this.tick();
    this.timers.push(setInterval(() => this.tick(), 1000));
    if (this.wdInterval) {
      this.timers.push(setInterval(() => this.feed(), this.wdInterval));
      this.log.info('systemd watchdog enabled', { intervalMs: this.wdInterval });
    }
  }

  /** STOPPING=1 and no more WATCHDOG=1. */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.notifier.send({ stopping: true, status: 'stopping' });
  }

  close(): void {
    this.notifier.close();
  }

  /** WATCHDOG=1 only while the health check passes (evaluated fresh, not from the last tick). */
  private feed(): void {
    this.tick();
    if (this.verdict.healthy) this.notifier.send({ watchdog: true });
  }

  private track(name: string, restarts: number, running: boolean, frames: number, now: number): Tracked {
    let t = this.tracked.get(name);
    if (!t) {
      t = { budget: new RestartBudget({ max: this.cfg.budgetRestarts, windowMs: this.cfg.budgetWindowSec * 1000 }), restarts, upSince: running ? now : 0, frames, framesAt: now, fps: 0 };
      this.tracked.set(name, t);
    }
    for (let i = t.restarts; i < restarts; i++) t.budget.record(now);
    if (restarts !== t.restarts) t.upSince = running ? now : 0;
    t.restarts = restarts;
    if (!running) t.upSince = 0;
    else if (!t.upSince) t.upSince = now;
    if (now - t.framesAt >= 1000) {
      t.fps = rate(t.frames, t.framesAt, frames, now);
      t.frames = frames;
      t.framesAt = now;
    }
    return t;
  }

  /**
   * Read the components, evaluate, publish on change / interval, send READY=1 when due. `now` is the
   * monotonic clock (every interval), `wall` the wall clock (the report's time, people counts).
   */
  tick(now = monoMs(), wall = Date.now()): HealthReport {
    const { pipeline, engine, mqtt } = this.parts;
    const comps: ComponentSnapshot[] = [];
    const cameras: Record<string, CameraHealth> = {};
    const states: Record<string, string> = {};
    const stats = pipeline.stats();
    let results = 0;
    for (const [id, st] of Object.entries(stats)) {
      const src = pipeline.sources.get(id);
      const t = this.track(`camera:${id}`, st.restarts, st.state === 'running', st.frames, now);
      const inWindow = t.budget.count(now);
      comps.push({ name: `camera:${id}`, state: st.state, restartsInWindow: inWindow, healthyForMs: t.upSince ? now - t.upSince : 0, lastError: st.lastError });
      cameras[id] = { ...st, fps: t.fps, restartsInWindow: inWindow, stderr: src?.status().stderr.slice(-3) ?? [], pid: src?.pid ?? null };
      states[`camera:${id}`] = st.state;
      results += st.results;
    }
    const et = this.track('engine', engine.restarts, engine.ready, 0, now);
    const build = engine.state === 'building' ? engine.building : null;
    // A build is progress, not an outage (the worker's build timeout bounds it): the down clock restarts after it.
    if (engine.ready || build) this.engineDownSince = 0;
    else if (!this.engineDownSince) this.engineDownSince = now;
    if (engine.ready && !this.engineReadyAt) this.engineReadyAt = now;
    const engineIn = et.budget.count(now);
    comps.push({ name: 'engine', state: engine.state, restartsInWindow: engineIn, healthyForMs: et.upSince ? now - et.upSince : 0, lastError: engine.lastError });
    states.engine = engine.state;
    this.verdict = evaluate(comps, this.policy, this.engineDownSince ? now - this.engineDownSince : 0);

    const loaded = engine.loaded;
    const report: HealthReport = {
      ts: new Date(wall).toISOString(),
      healthy: this.verdict.healthy,
      reasons: this.verdict.reasons,
      uptimeSec: Math.round((now - this.startedAt) / 1000),
      pid: process.pid,
      engine: {
        state: engine.state,
        provider: loaded?.provider ?? null,
        model: loaded ? { name: loaded.model.name, version: loaded.model.version } : null,
        restarts: engine.restarts,
        restartsInWindow: engineIn,
        errors: engine.errors,
        lastError: engine.lastError,
        pid: engine.pid ?? null,
        workers: engine.size,
        building: build ? { model: build.model, provider: build.provider, reason: build.reason, forSec: Math.round((now - build.since) / 1000), firstStart: build.firstStart } : null,
      },
      cameras,
      mqtt: {
        connected: mqtt.stats.connected,
        published: mqtt.stats.published,
        dropped: mqtt.stats.dropped,
        reconnects: mqtt.stats.reconnects,
        denied: mqtt.stats.denied,
        lastError: mqtt.stats.lastError,
        outbox: { queued: mqtt.outbox?.size ?? 0, dropped: mqtt.outbox?.dropped ?? 0 },
      },
      ...(this.parts.people ? { people: this.parts.people(wall) } : {}),
    };
    this.report = report;

    const key = changeKey(this.verdict, states);
    const changed = key !== this.lastKey;
    if (changed) {
      if (this.lastKey) (this.verdict.healthy ? this.log.info : this.log.warn)('health changed', { healthy: this.verdict.healthy, reasons: this.verdict.reasons, states });
      this.lastKey = key;
      this.notifier.send({ status: statusLine(report) });
    }
    if (changed || now - this.lastPublish >= this.cfg.healthIntervalSec * 1000) {
      this.lastPublish = now;
      mqtt.publishRetained(this.parts.healthTopic, JSON.stringify(report), { coalesce: true });
    }
    if (build && !this.readySent && now - this.lastExtend >= EXTEND_EVERY_MS) {
      this.lastExtend = now;
      this.notifier.send({ extendTimeoutUsec: EXTEND_BY_USEC, status: statusLine(report) });
    }
    if (!this.readySent && engine.ready && (results > 0 || now - this.engineReadyAt >= this.cfg.readyTimeoutSec * 1000)) {
      this.readySent = true;
      this.notifier.send({ ready: true, status: statusLine(report) });
      this.log.info('ready', { firstResult: results > 0 });
    }
    return report;
  }
}

/** One line for `systemctl status`. */
export function statusLine(r: HealthReport): string {
  const b = r.engine.building;
  if (b) return `building ${b.provider === 'tensorrt' ? 'TensorRT' : b.provider} engine for ${b.model} (${b.firstStart ? 'first start' : 'no cached engine'})`;
  const cams = Object.entries(r.cameras).map(([id, c]) => `${id} ${c.state}`);
  const head = r.healthy ? 'healthy' : `UNHEALTHY (${r.reasons.join('; ')})`;
  return `${head}; engine ${r.engine.state}${r.engine.provider ? ` on ${r.engine.provider}` : ''}; ${cams.join(', ') || 'no cameras'}; mqtt ${r.mqtt.connected ? 'connected' : 'disconnected'}`;
}
