// The device end of OTA, put together from its parts, each behind a narrow interface:
//   receiver.ts  MQTT chunks → staging file (timeouts, deadline, BUSY)     inbox.ts  local pushes
//   installer.ts verify + metadata + install + swap + activate; rollback (the one lock)
//   probation.ts the trial after a swap (on disk; resumed after a restart)
//   commands.ts  signed rollback commands
// This file wires them to MQTT and says what happened: a result per transfer / command on
// model/result/{id}, and the retained model/state after every change.
import { open, rm } from 'node:fs/promises';
import { otaTopics, type ModelRef, type ProgressPayload, type ResultCode, type ResultPayload, type StatePayload } from '../../deploy/ota/protocol.js';
import type { TrustedKey } from '../../models/signing.js';
import type { OtaConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import { CommandHandler } from './commands.js';
import { Inbox } from './inbox.js';
import { Installer, type Outcome } from './installer.js';
import { sameRef, type ModelStore, type VersionRef } from './model-store.js';
import type { ModelSwap } from './model-swap.js';
import { Probation } from './probation.js';
import { ResultReadings } from './readings.js';
import { Receiver } from './receiver.js';
import { FloorFile, ProbationFile, type ProbationRecord } from './records.js';
import { elapsedMs, monoMs } from '../../pipelines/clock.js';

export interface OtaLink {
  subscribe(topic: string, onMessage: (payload: Buffer) => void): void;
  publishEvent(topic: string, payload: string): void;
  publishRetained(topic: string, payload: string): void;
}

export interface OtaDeviceOptions extends Omit<OtaConfig, 'trustedKeys'> {
  site: string;
  deviceId: string;
  groups: string[];
  trusted: TrustedKey[];
}

export interface OtaBoot {
  /** Result readings fed by the app (non-finite scores, inference times) for probation. */
  readings?: ResultReadings;
  /** A trial found on disk at start (setup.ts), to resume. */
  resume?: ProbationRecord | null;
}

const ref = (r: VersionRef | null | undefined): ModelRef | null => (r ? { name: r.name, version: r.version } : null);

export class OtaDevice {
  private readonly t: ReturnType<typeof otaTopics>;
  private readonly receiver: Receiver;
  private readonly installer: Installer;
  private readonly probation: Probation;
  private readonly commands: CommandHandler;
  private readonly inbox: Inbox;
  private readonly floor: FloorFile;
  private lastPush: StatePayload['lastPush'] = null;
  private timers: NodeJS.Timeout[] = [];
  private quietUntil = 0;
  private quieted = 0;

  constructor(
    private readonly o: OtaDeviceOptions,
    private readonly store: ModelStore,
    private readonly swap: ModelSwap,
    pipeline: { frameCounts(): { taken: number; failed: number } },
    private readonly link: OtaLink,
    private readonly log: Logger,
    private readonly boot: OtaBoot = {},
  ) {
    this.t = otaTopics(o.site, o.deviceId);
    this.floor = new FloorFile(o.stateDir, log);
    const readings = boot.readings ?? new ResultReadings();
    this.probation = new Probation(o, new ProbationFile(o.stateDir, log), {
      frameCounts: () => pipeline.frameCounts(),
      readings,
      engine: () => this.swap.current,
      fail: (reason) => void this.failTrial(reason),
      changed: () => this.publishState(),
    }, log);
    this.installer = new Installer(o, store, swap, this.probation, this.floor, log);
    this.receiver = new Receiver({ ...o, stagingDir: store.stagingDir }, {
      busy: () => this.installer.busy,
      refuse: (id, code, message, t0, started) => this.refused(id, code, message, t0, started),
      complete: (bundle, id, t0) => this.processBundle(bundle, id, t0),
      progress: (id, stage, received, count) => this.progress(id, stage, received, count),
    }, log);
    this.commands = new CommandHandler(o, {
      rollback: (reason, requestId) => void this.rollback(reason, requestId),
      refuse: (requestId, code, message) => void this.result(requestId, code, message, monoMs()),
    }, log);
    this.inbox = new Inbox(o.stateDir, store.stagingDir, o.maxBundleBytes, {
      idle: () => !this.installer.busy && !this.receiver.current,
      install: (bundle, id) => this.processBundle(bundle, id),
      refuse: (id, code, message) => this.refused(id, code, message, monoMs(), true),
    }, log);
  }

  start(): void {
    if (this.o.allowUnsigned) this.log.error('!!! ota.allowUnsigned is set: UNSIGNED AND UNTRUSTED MODELS WILL BE ACCEPTED. Development only. !!!');
    if (!this.o.trusted.some((k) => k.roles.includes('model')) && !this.o.allowUnsigned) this.log.warn('ota: no trusted key with the role "model" (ota.trustedKeys): every push will be refused');
    this.link.subscribe(this.t.push, (buf) => this.receiver.onMessage(buf));
    this.link.subscribe(this.t.rollback, (buf) => this.commands.onRollback(buf));
    this.timers.push(setInterval(() => void this.receiver.tick(), 1000));
    this.timers.push(setInterval(() => void this.inbox.poll().catch((e) => this.log.error('ota inbox failed', { err: (e as Error).message })), this.o.localPollMs));
    if (this.boot.resume) this.probation.resume(this.boot.resume);
    this.publishState();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.probation.stop();
    await this.receiver.stop();
  }

  state(): StatePayload {
    const p = this.store.pointer;
    const active = ref(p.active);
    const loaded = this.swap.current.loaded;
    if (active && loaded && sameRef(loaded.model, active)) active.sha256 = loaded.model.sha256;
    const pr = this.probation.current;
    return {
      deviceId: this.o.deviceId,
      groups: this.o.groups,
      active,
      previous: ref(p.previous),
      versions: p.installed.map((i) => ({ name: i.name, version: i.version })),
      probationUntil: pr ? new Date(pr.until).toISOString() : null,
      probation: pr ? { model: pr.model, since: new Date(pr.since).toISOString(), until: new Date(pr.until).toISOString(), boots: pr.boots } : null,
      sequence: this.floor.sequence,
      bad: (p.bad ?? []).map((b) => ({ name: b.name, version: b.version, reason: b.reason, at: b.at })),
      allowUnsigned: this.o.allowUnsigned,
      lastPush: this.lastPush,
      lastRollback: this.floor.lastRollback,
      at: new Date().toISOString(),
    };
  }

  private publishState(): void {
    this.link.publishRetained(this.t.state, JSON.stringify(this.state()));
  }

  private result(id: string, code: ResultCode, message: string, t0: number, extra: Partial<ResultPayload> = {}, quiet = false): ResultPayload {
    const ok = code === 'OK' || code === 'ALREADY_ACTIVE' || code === 'ROLLED_BACK';
    const p = this.state();
    const r: ResultPayload = { transferId: id, deviceId: this.o.deviceId, ok, code, message, active: p.active, previous: p.previous, ms: elapsedMs(t0), at: new Date().toISOString(), ...extra };
    if (!quiet) (ok ? this.log.info : this.log.warn).call(this.log, `ota ${id}: ${code}`, { message });
    this.link.publishEvent(this.t.result(id), JSON.stringify(r));
    return r;
  }

  /**
   * A transfer refused before the installer. One that never started (junk, BUSY) is answered but
   * leaves the retained state alone and is logged at most every 10 s: a flood costs no state writes.
   */
  private refused(id: string, code: ResultCode, message: string, t0: number, started: boolean): ResultPayload {
    const now = monoMs();
    let quiet = false;
    if (!started) {
      quiet = now < this.quietUntil;
      if (quiet) this.quieted++;
      else {
        if (this.quieted) this.log.warn('ota: refused transfers not logged', { count: this.quieted });
        this.quieted = 0;
        this.quietUntil = now + 10_000;
      }
    }
    const r = this.result(id, code, message, t0, {}, quiet);
    if (started) {
      this.lastPush = { transferId: id, ok: r.ok, code, message, ms: r.ms, at: r.at };
      this.publishState();
    }
    return r;
  }

  /** Tell the operator how far a transfer got (received, verified): what the device saw, not what the broker acked. */
  private progress(id: string, stage: ProgressPayload['stage'], received: number, count: number): void {
    const p: ProgressPayload = { transferId: id, deviceId: this.o.deviceId, stage, received, count, at: new Date().toISOString() };
    this.link.publishEvent(this.t.progress(id), JSON.stringify(p));
  }

  /**
   * Hand one staged bundle file to the installer (read in fixed-size pieces, never whole), remove the
   * file, and report the outcome. Never throws.
   */
  async processBundle(path: string, id: string, t0 = monoMs()): Promise<ResultPayload> {
    this.receiver.remember(id);
    let out: Outcome;
    try {
      const fh = await open(path, 'r');
      try {
        const src = { size: (await fh.stat()).size, read: (b: Buffer, off: number, len: number, pos: number) => fh.read(b, off, len, pos) };
        out = await this.installer.install(src, id, () => this.progress(id, 'verified', 1, 1));
      } finally {
        await fh.close();
      }
    } catch (e) {
      out = { code: 'INTERNAL', message: `reading the staged bundle failed: ${(e as Error).message}` };
    } finally {
      await rm(path, { force: true }).catch(() => undefined);
    }
    const r = this.result(id, out.code, out.message, t0, { ...(out.model ? { model: out.model } : {}), ...(out.unclassified !== undefined ? { unclassified: out.unclassified } : {}) });
    this.lastPush = { transferId: id, ok: r.ok, code: out.code, message: out.message, ms: r.ms, at: r.at, ...(out.model ? { model: out.model } : {}) };
    this.publishState();
    return r;
  }

  /** A failed trial: roll back as soon as the installer is free, if the version on trial still runs. */
  private async failTrial(reason: string): Promise<void> {
    const trial = this.probation.current?.model;
    while (this.installer.busy) await new Promise((r) => setTimeout(r, 200));
    if (trial && !sameRef(this.store.pointer.active, trial)) return; // replaced meanwhile
    await this.rollback(reason);
  }

  /** Roll back to the previous version (probation failed, or a verified operator command). */
  async rollback(reason: string, requestId?: string): Promise<ResultPayload | null> {
    const t0 = monoMs();
    const out = await this.installer.rollback(reason);
    this.publishState();
    return requestId ? this.result(requestId, out.code, out.message, t0) : null;
  }
}
