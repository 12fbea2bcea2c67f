// Probation: after a swap the new version is on trial for ota.probationSec. The trial lives on disk
// (records.ts probation.json), so a restart resumes it; each start during a trial is counted and
// the ota.probationMaxBoots-th falls back to the last good version (setup.ts). During the trial an
// engine crash, too many failed or non-finite results, or a median inference time far above the
// previous model's fails it (the caller rolls back). Verdicts are pure (probationVerdict, bootDecision).
import type { Logger } from '../log.js';
import type { VersionRef } from './model-store.js';
import type { ResultReadings } from './readings.js';
import type { ProbationFile, ProbationRecord } from './records.js';
import { monoMs } from '../../pipelines/clock.js';

export interface ProbationOptions {
  probationSec: number;
  probationMaxErrorRate: number;
  probationMinFrames: number;
  probationLatencyFactor: number;
  probationLatencyMinMs: number;
}

export interface TrialReadings {
  /** Frames handed to the engine and frames that failed since the trial (re)started. */
  taken: number;
  failed: number;
  /** Results of the new model with a NaN / infinite score. */
  nonFinite: number;
  /** Median inference time of the new model (ms) over `samples` results. */
  medianMs: number | null;
  samples: number;
  /** The previous model's median (ms), or null when unknown. */
  baselineMs: number | null;
}

/**
 * Why the trial fails now, or null. `final`: the trial's time is up; latency is then judged on
 * whatever timed results there are (a model so slow that it gave fewer than probationMinFrames in
 * the whole trial must not pass for want of readings).
 */
export function probationVerdict(o: ProbationOptions, r: TrialReadings, final = false): string | null {
  if (r.taken >= o.probationMinFrames) {
    const rate = (r.failed + r.nonFinite) / r.taken;
    if (rate > o.probationMaxErrorRate) {
      const what = r.nonFinite ? `${r.failed} failed and ${r.nonFinite} non-finite (NaN/Inf) results` : `error rate ${(r.failed / r.taken).toFixed(2)}`;
      return `${what} over ${r.taken} frames exceeds ota.probationMaxErrorRate ${o.probationMaxErrorRate} during probation`;
    }
  }
  if (r.baselineMs !== null && r.medianMs !== null && r.samples >= (final ? 1 : o.probationMinFrames)) {
    const limit = Math.max(r.baselineMs * o.probationLatencyFactor, r.baselineMs + o.probationLatencyMinMs);
    if (r.medianMs > limit)
      return `median inference ${r.medianMs.toFixed(1)} ms over ${r.samples} results is above ${limit.toFixed(1)} ms (the previous model's ${r.baselineMs.toFixed(1)} ms × ota.probationLatencyFactor ${o.probationLatencyFactor}, at least + ota.probationLatencyMinMs ${o.probationLatencyMinMs}) during probation`;
  }
  return null;
}

export type BootDecision = { kind: 'none' } | { kind: 'stale' } | { kind: 'resume'; record: ProbationRecord } | { kind: 'fallback'; record: ProbationRecord; reason: string };

/** At start: what to do with a trial found on disk (the record as it will be after counting this start). */
export function bootDecision(rec: ProbationRecord | null, active: VersionRef | null, maxBoots: number, now: number): BootDecision {
  if (!rec) return { kind: 'none' };
  if (!active || rec.model.name !== active.name || rec.model.version !== active.version || now > rec.until) return { kind: 'stale' };
  const next = { ...rec, boots: rec.boots + 1 };
  if (next.boots >= maxBoots) return { kind: 'fallback', record: next, reason: `the daemon started ${next.boots} times during ${rec.model.name} ${rec.model.version}'s probation (ota.probationMaxBoots ${maxBoots})` };
  return { kind: 'resume', record: next };
}

export interface EngineEvents {
  once(ev: 'down', fn: (reason: string) => void): unknown;
  off(ev: 'down', fn: (reason: string) => void): unknown;
}

export interface ProbationDeps {
  frameCounts(): { taken: number; failed: number };
  readings: ResultReadings;
  /** The engine serving the version on trial. */
  engine(): EngineEvents;
  /** The trial failed: roll back (the caller ends the trial). */
  fail(reason: string): void;
  /** The trial started, passed or ended: publish the state. */
  changed(): void;
}

export class Probation {
  private rec: ProbationRecord | null = null;
  private watch: { stop: () => void } | null = null;
  /**
   * When the trial ends, on the monotonic clock (D165). The record's `until` is the wall clock (it must
   * survive a restart); within a run the trial's length is timed here, so NTP stepping the clock
   * forward does not pass an unproven model at once, nor a step back keep it on trial.
   */
  private deadline = 0;

  constructor(
    private readonly o: ProbationOptions,
    private readonly file: ProbationFile,
    private readonly deps: ProbationDeps,
    private readonly log: Logger,
  ) {}

  get current(): ProbationRecord | null {
    return this.rec;
  }

  /**
   * A new version goes on trial (called after the swap, before the store's pointer moves: a record
   * that names a version that is not active is stale at the next start). Throws when it cannot be written.
   */
  begin(model: VersionRef, from: VersionRef | null): void {
    this.end();
    if (this.o.probationSec <= 0) return;
    const now = Date.now();
    const baselineMs = from ? this.deps.readings.of(from).medianMs : null;
    const rec: ProbationRecord = { format: 'mobilenet-edge/probation@1', model: { name: model.name, version: model.version }, from: from && { name: from.name, version: from.version }, since: now, until: now + this.o.probationSec * 1000, boots: 0, baselineMs };
    this.file.write(rec);
    this.rec = rec;
    this.deadline = monoMs() + this.o.probationSec * 1000;
    this.deps.readings.reset(model);
    this.startWatch();
    this.log.info('probation started', { model, until: new Date(rec.until).toISOString(), baselineMs });
    if (baselineMs === null) this.log.warn('probation: the previous model has no timed results yet (just started, or no faces read): its latency is not judged in this trial', { model, from });
  }

  /** Resume a trial found on disk at start (its boots already counted by setup.ts). */
  resume(rec: ProbationRecord): void {
    this.rec = rec;
    // what is left of it by the wall clock, at most a whole trial (a board's clock may be behind after a reboot)
    this.deadline = monoMs() + Math.min(Math.max(0, rec.until - Date.now()), this.o.probationSec * 1000);
    this.startWatch();
    this.log.warn('probation resumed after a restart', { model: rec.model, until: new Date(rec.until).toISOString(), boots: rec.boots });
  }

  /** End the trial (rolled back, or replaced): forget it on disk too. */
  end(): void {
    this.watch?.stop();
    this.watch = null;
    if (this.rec) this.file.clear();
    this.rec = null;
  }

  /** The daemon stops: stop watching, keep the trial on disk (the next start resumes it). */
  stop(): void {
    this.watch?.stop();
    this.watch = null;
  }

  private startWatch(): void {
    const rec = this.rec!;
    const engine = this.deps.engine();
    const base = this.deps.frameCounts();
    const failOnce = (reason: string) => {
      stop();
      this.deps.fail(reason);
    };
    const onDown = (reason: string) => failOnce(`engine crashed during probation: ${reason}`);
    const timer = setInterval(() => {
      const final = monoMs() > this.deadline;
      const c = this.deps.frameCounts();
      const r = this.deps.readings.of(rec.model);
      const why = probationVerdict(this.o, { taken: c.taken - base.taken, failed: c.failed - base.failed, nonFinite: r.nonFinite, medianMs: r.medianMs, samples: r.samples, baselineMs: rec.baselineMs }, final);
      if (why) return failOnce(why);
      if (final) {
        this.end();
        this.log.info('probation passed', { model: rec.model, results: r.results, medianMs: r.medianMs, baselineMs: rec.baselineMs });
        this.deps.changed();
      }
    }, 500);
    const stop = () => {
      clearInterval(timer);
      engine.off('down', onDown);
      if (this.watch?.stop === stop) this.watch = null;
    };
    engine.once('down', onDown);
    this.watch = { stop };
    this.deps.changed();
  }
}
