// The device end of OTA: chunks from MQTT are reassembled into a staging file (size limit and
// disk-space check first), the bundle is verified (signature, hashes), installed in the store,
// hot-swapped in, and the pointer switched; results go to model/result/{id}, the retained
// model/state says what runs. Local pushes (edgectl push --local) arrive as files in <stateDir>/inbox/.
// After a swap, a probation period rolls back on an engine crash or a high error rate.
import type { KeyObject } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError, decodeBundle, verifyBundle, sha256Hex } from '../models/bundle.js';
import { checkCommand, ReplayWindow } from '../deploy/ota/command.js';
import { NonceFile } from './nonce-file.js';
import { ChunkError, decodeChunk, markChunk, missingChunks, otaTopics, planChunk, TRANSFER_ID, type ModelRef, type ProgressPayload, type ResultCode, type ResultPayload, type StatePayload, type Transfer } from '../deploy/ota/protocol.js';
import type { OtaConfig } from './config.js';
import type { Logger } from './log.js';
import { ModelStore, sameRef, StoreError, type VersionRef } from './model-store.js';
import { ModelSwap, SwapError } from './model-swap.js';
import type { Pipeline } from './pipeline.js';
import { CodedError } from '../models/coded-error.js';

export interface OtaLink {
  subscribe(topic: string, onMessage: (payload: Buffer) => void): void;
  publishEvent(topic: string, payload: string): void;
  publishRetained(topic: string, payload: string): void;
}

export interface OtaDeviceOptions extends OtaConfig {
  site: string;
  deviceId: string;
  /** Rollout groups (config `groups`), carried on the state topic. */
  groups?: string[];
  trusted: KeyObject[];
}

class OtaFailure extends CodedError<ResultCode> {}

const CODES = new Set<string>(['BAD_BUNDLE', 'MANIFEST_INVALID', 'HASH_MISMATCH', 'UNSIGNED', 'UNTRUSTED_KEY', 'BAD_SIGNATURE', 'VERSION_CONFLICT', 'INPUT_SIZE_CHANGED', 'LOAD_FAILED', 'TEST_VECTOR_FAILED', 'NO_PREVIOUS', 'TOO_LARGE', 'DISK_FULL', 'BAD_CHUNK']);
function codeOf(e: unknown): ResultCode {
  if (e instanceof OtaFailure) return e.code;
  const c = (e as { code?: string }).code;
  if (e instanceof StoreError && c === 'BAD_NAME') return 'BAD_BUNDLE';
  if ((e instanceof BundleError || e instanceof SwapError || e instanceof StoreError || e instanceof ChunkError) && c && CODES.has(c)) return c as ResultCode;
  return 'INTERNAL';
}

export class OtaDevice {
  private readonly t: ReturnType<typeof otaTopics>;
  private transfer: Transfer | null = null;
  private staging: { fh: FileHandle; path: string } | null = null;
  private chunkQueue: Promise<void> = Promise.resolve();
  private activating = false;
  private readonly done = new Set<string>();
  private lastPush: StatePayload['lastPush'] = null;
  private lastRollback: StatePayload['lastRollback'] = null;
  private probation: { until: number; stop: () => void } | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly replay: ReplayWindow;
  private readonly nonces: NonceFile;

  constructor(
    private readonly o: OtaDeviceOptions,
    private readonly store: ModelStore,
    private readonly swap: ModelSwap,
    private readonly pipeline: Pipeline,
    private readonly link: OtaLink,
    private readonly log: Logger,
  ) {
    this.t = otaTopics(o.site, o.deviceId);
    this.nonces = new NonceFile(join(o.stateDir, 'command-nonces.json'), log);
    this.replay = new ReplayWindow((o.commandMaxAgeSec ?? 60) * 1000, undefined, this.nonces.read());
  }


  start(): void {
    if (this.o.allowUnsigned) this.log.error('!!! ota.allowUnsigned is set: UNSIGNED AND UNTRUSTED MODELS WILL BE ACCEPTED. Development only. !!!');
    if (!this.o.trusted.length && !this.o.allowUnsigned) this.log.warn('ota: no trusted keys configured (ota.trustedKeys): every push will be refused');
    this.link.subscribe(this.t.push, (buf) => (this.chunkQueue = this.chunkQueue.then(() => this.onChunk(buf)).catch((e) => this.log.error('ota chunk handling failed', { err: (e as Error).message }))));
    this.link.subscribe(this.t.rollback, (buf) => this.onRollbackRequest(buf));
    this.timers.push(setInterval(() => void this.checkTimeout(), 1000));
    this.timers.push(setInterval(() => void this.pollInbox(), this.o.localPollMs));
    this.publishState();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.probation?.stop();
    await this.abortTransfer();
  }

  state(): StatePayload {
    const ref = (r: VersionRef | null): ModelRef | null => (r ? { name: r.name, version: r.version } : null);
    const p = this.store.pointer;
    const active = ref(p.active);
    if (active && this.swap.current.loaded && sameRef(this.swap.current.loaded.model, active)) active.sha256 = this.swap.current.loaded.model.sha256;
    return {
      deviceId: this.o.deviceId,
      groups: this.o.groups ?? [],
      active,
      previous: ref(p.previous),
      versions: p.installed.map((i) => ({ name: i.name, version: i.version })),
      probationUntil: this.probation ? new Date(this.probation.until).toISOString() : null,
      allowUnsigned: this.o.allowUnsigned,
      lastPush: this.lastPush,
      lastRollback: this.lastRollback,
      at: new Date().toISOString(),
    };
  }

  private publishState(): void {
    this.link.publishRetained(this.t.state, JSON.stringify(this.state()));
  }

  /** Tell the operator how far a transfer got (received, verified): what the device saw, not what the broker acked. */
  private progress(id: string, stage: ProgressPayload['stage'], received: number, count: number): void {
    const p: ProgressPayload = { transferId: id, deviceId: this.o.deviceId, stage, received, count, at: new Date().toISOString() };
    this.link.publishEvent(this.t.progress(id), JSON.stringify(p));
  }

  private result(id: string, code: ResultCode, message: string, t0: number, extra: Partial<ResultPayload> = {}): ResultPayload {
    const ok = code === 'OK' || code === 'ALREADY_ACTIVE' || code === 'ROLLED_BACK';
    const p = this.state();
    const r: ResultPayload = { transferId: id, deviceId: this.o.deviceId, ok, code, message, active: p.active, previous: p.previous, ms: Date.now() - t0, at: new Date().toISOString(), ...extra };
    (ok ? this.log.info : this.log.warn).call(this.log, `ota ${id}: ${code}`, { message });
    this.link.publishEvent(this.t.result(id), JSON.stringify(r));
    return r;
  }

  // ---- MQTT transfers

  private async onChunk(buf: Buffer): Promise<void> {
    let decoded;
    try {
      decoded = decodeChunk(buf, this.o.maxBundleBytes);
    } catch (e) {
      const id = looseTransferId(buf);
      if (!id || this.done.has(id)) return;
      if (this.transfer?.id === id) await this.failTransfer(codeOf(e), (e as Error).message);
      else if (!this.transfer) this.finish(id, codeOf(e), (e as Error).message, Date.now());
      return;
    }
    const { header: h, data } = decoded;
    if (this.done.has(h.transferId)) return; // a late duplicate of a finished transfer
    const now = Date.now();
    const plan = this.activating && !this.transfer ? { kind: 'busy' as const, current: 'a local push' } : planChunk(this.transfer, h, now);
    if (plan.kind === 'busy') return void this.finish(h.transferId, 'BUSY', `another push (${plan.current}) is in progress; try again when it has finished`, now);
    if (plan.kind === 'duplicate') return;
    if (plan.kind === 'conflict') return this.failTransfer('BAD_CHUNK', plan.message);
    if (plan.kind === 'start') {
      try {
        await this.checkDisk(h.size);
        const path = join(this.store.stagingDir, `${h.transferId}.part`);
        this.staging = { fh: await open(path, 'w+'), path };
      } catch (e) {
        return void this.finish(h.transferId, codeOf(e), (e as Error).message, now);
      }
      this.transfer = plan.transfer;
      this.log.info('ota transfer started', { transferId: h.transferId, bytes: h.size, chunks: h.count });
    }
    try {
      await this.staging!.fh.write(data, 0, data.length, plan.offset);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'DISK_FULL' : 'INTERNAL';
      return this.failTransfer(code, `writing the staging file failed: ${(e as Error).message}`);
    }
    const complete = markChunk(this.transfer!, h, now);
    const tq = this.transfer!;
    if (!complete) {
      if (Math.floor((4 * tq.received) / tq.count) !== Math.floor((4 * (tq.received - 1)) / tq.count)) this.progress(tq.id, 'receiving', tq.received, tq.count);
      return;
    }
    const tr = this.transfer!;
    const { fh, path } = this.staging!;
    const bundle = await fh.readFile();
    await fh.close();
    await rm(path, { force: true });
    this.staging = null;
    if (sha256Hex(bundle) !== tr.bundleSha256) {
      this.transfer = null;
      return void this.finish(tr.id, 'BAD_CHUNK', 'the reassembled bundle does not match its sha256', tr.startedAt);
    }
    this.progress(tr.id, 'received', tr.count, tr.count);
    // Activation runs outside the chunk queue: chunks of another push meanwhile are answered BUSY.
    void this.processBundle(bundle, tr.id, tr.startedAt).finally(() => {
      if (this.transfer === tr) this.transfer = null;
    });
  }

  private async checkDisk(size: number): Promise<void> {
    const s = await statfs(this.store.stagingDir);
    const free = s.bavail * s.bsize;
    const need = 2 * size + this.o.minFreeBytes; // staging file + installed copy + reserve
    if (free < need) throw new OtaFailure('DISK_FULL', `not enough disk space in ${this.store.dir}: ${free} bytes free, a ${size}-byte bundle needs ${need} (2x the bundle + ota.minFreeBytes ${this.o.minFreeBytes})`);
  }

  private async abortTransfer(): Promise<void> {
    this.transfer = null;
    const s = this.staging;
    this.staging = null;
    if (s) {
      await s.fh.close().catch(() => undefined);
      await rm(s.path, { force: true });
    }
  }

  private async failTransfer(code: ResultCode, message: string): Promise<void> {
    const tr = this.transfer;
    await this.abortTransfer();
    if (tr) this.finish(tr.id, code, message, tr.startedAt);
  }

  private async checkTimeout(): Promise<void> {
    const tr = this.transfer;
    if (!tr || this.staging === null || Date.now() - tr.lastAt < this.o.transferTimeoutSec * 1000) return;
    const missing = missingChunks(tr);
    await this.failTransfer('TRANSFER_TIMEOUT', `no chunk for ${this.o.transferTimeoutSec} s; ${missing.length} of ${tr.count} chunks missing (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}); staging file removed`);
  }

  /** Report a transfer that ended without reaching activation; each transfer id is answered once. */
  private finish(id: string, code: ResultCode, message: string, t0: number): ResultPayload | undefined {
    if (this.done.has(id)) return;
    this.remember(id);
    const r = this.result(id, code, message, t0);
    if (code !== 'BUSY') {
      this.lastPush = { transferId: id, ok: r.ok, code, message, ms: r.ms, at: r.at };
      this.publishState();
    }
    return r;
  }

  private remember(id: string): void {
    this.done.add(id);
    if (this.done.size > 1000) this.done.delete(this.done.values().next().value!);
  }

  // ---- verification, install, swap

  /** Verify, install, hot-swap and activate one bundle. Never throws: the outcome is the result. */
  async processBundle(bundle: Buffer, id: string, t0 = Date.now()): Promise<ResultPayload> {
    this.activating = true;
    this.remember(id);
    let code: ResultCode = 'OK';
    let message = '';
    let model: ModelRef | undefined;
    let unclassified: number | undefined;
    try {
      if (bundle.length > this.o.maxBundleBytes) throw new OtaFailure('TOO_LARGE', `bundle of ${bundle.length} bytes exceeds ota.maxBundleBytes (${this.o.maxBundleBytes})`);
      const v = verifyBundle(decodeBundle(bundle), { trusted: this.o.trusted, allowUnsigned: this.o.allowUnsigned });
      for (const w of v.warnings) this.log.error(`!!! UNVERIFIED MODEL ACCEPTED: ${w}`, { transferId: id });
      this.progress(id, 'verified', 1, 1);
      const ref = { name: v.manifest.name, version: v.manifest.version };
      model = { ...ref, sha256: v.manifest.sha256 };
      if (sameRef(this.store.pointer.active, ref)) {
        const have = await readFile(this.store.manifestPath(ref));
        if (!have.equals(v.manifestBytes)) throw new OtaFailure('VERSION_CONFLICT', `${ref.name} ${ref.version} is active with a different manifest: give the new model a new version`);
        code = 'ALREADY_ACTIVE';
        message = `${ref.name} ${ref.version} is already active; nothing to do`;
      } else {
        const installed = await this.store.install(ref, v.files);
        try {
          const report = await this.swap.swapTo(this.store.manifestPath(ref));
          unclassified = report.unclassified;
          message = `${ref.name} ${ref.version} active (load + warm-up + ${v.manifest.tests?.length ?? 0} test vector(s) + switch in ${report.ms} ms; signed by ${v.keyId ?? 'nobody (allowUnsigned)'})`;
        } catch (e) {
          if (installed === 'installed') await this.store.discard(ref);
          throw e;
        }
        await this.store.activate(ref);
        this.startProbation();
      }
    } catch (e) {
      code = codeOf(e);
      message = (e as Error).message;
    } finally {
      this.activating = false;
    }
    const r = this.result(id, code, message, t0, { ...(model ? { model } : {}), ...(unclassified !== undefined ? { unclassified } : {}) });
    this.lastPush = { transferId: id, ok: r.ok, code, message, ms: r.ms, at: r.at, ...(model ? { model } : {}) };
    this.publishState();
    return r;
  }

  // ---- rollback and probation

  /** Rollback over MQTT: only a signed, fresh, never-seen command for this device (deploy/ota/command.ts). */
  private onRollbackRequest(buf: Buffer): void {
    const c = checkCommand(buf, { cmd: 'rollback', site: this.o.site, deviceId: this.o.deviceId }, this.o.trusted, this.replay, Date.now());
    if (!c.ok) {
      this.log.warn('ota: rollback command refused', { code: c.code, reason: c.message });
      if (c.requestId) this.result(c.requestId, c.code, `rollback refused: ${c.message}`, Date.now());
      return;
    }
    try {
      this.nonces.write(this.replay.entries(Date.now()));
    } catch (e) {
      // without the record a replay after a restart would pass: refuse rather than run unrecorded
      this.log.error('ota: cannot record the command nonce; rollback refused', { file: this.nonces.file, err: (e as Error).message });
      this.result(c.body.requestId, 'INTERNAL', `rollback refused: cannot record the command nonce in ${this.nonces.file}: ${(e as Error).message}`, Date.now());
      return;
    }
    void this.rollback(`requested by operator (key ${c.keyId})`, c.body.requestId);
  }

  /** Swap back to the previous version and switch the pointer. */
  async rollback(reason: string, requestId?: string): Promise<ResultPayload | null> {
    const t0 = Date.now();
    const from = this.store.pointer.active;
    const to = this.store.pointer.previous;
    let code: ResultCode = 'ROLLED_BACK';
    let message: string;
    if (this.activating) {
      code = 'BUSY';
      message = 'a push is being activated; try again when it has finished';
    } else if (!to) {
      code = 'NO_PREVIOUS';
      message = 'no previous version to roll back to';
    } else {
      this.activating = true;
      try {
        this.probation?.stop();
        await this.swap.swapTo(this.store.manifestPath(to));
        await this.store.rollback();
        message = `rolled back from ${from?.name} ${from?.version} to ${to.name} ${to.version}: ${reason}`;
        this.lastRollback = { from, to, reason, at: new Date().toISOString() };
        this.log.warn('model rolled back', { from, to, reason });
      } catch (e) {
        code = codeOf(e);
        message = `rollback to ${to.name} ${to.version} failed, ${from?.name} ${from?.version} stays: ${(e as Error).message}`;
      } finally {
        this.activating = false;
      }
    }
    this.publishState();
    return requestId ? this.result(requestId, code, message, t0) : null;
  }

  private startProbation(): void {
    this.probation?.stop();
    if (this.o.probationSec <= 0) return;
    const engine = this.swap.current;
    const base = this.pipeline.frameCounts();
    const until = Date.now() + this.o.probationSec * 1000;
    const onDown = (reason: string) => void this.rollback(`engine crashed during probation: ${reason}`);
    const timer = setInterval(() => {
      if (Date.now() > until) {
        stop();
        this.log.info('probation passed', { model: engine.loaded?.model });
        return this.publishState();
      }
      const c = this.pipeline.frameCounts();
      const taken = c.taken - base.taken;
      const failed = c.failed - base.failed;
      if (taken >= this.o.probationMinFrames && failed / taken > this.o.probationMaxErrorRate)
        void this.rollback(`error rate ${(failed / taken).toFixed(2)} over ${taken} frames exceeds ota.probationMaxErrorRate ${this.o.probationMaxErrorRate} during probation`);
    }, 500);
    const stop = () => {
      clearInterval(timer);
      engine.off('down', onDown);
      if (this.probation?.stop === stop) this.probation = null;
    };
    engine.once('down', onDown);
    this.probation = { until, stop };
  }

  // ---- local pushes

  private async pollInbox(): Promise<void> {
    if (this.activating || this.transfer) return;
    const inbox = join(this.o.stateDir, 'inbox');
    const names = await readdir(inbox).catch(() => [] as string[]);
    const name = names.filter((n) => n.endsWith('.bundle')).sort()[0];
    if (!name) return;
    const id = name.slice(0, -'.bundle'.length);
    const path = join(inbox, name);
    let r: ResultPayload | undefined;
    if (!TRANSFER_ID.test(id)) {
      await rm(path, { force: true });
      return void this.log.warn('ota: inbox file with a bad name removed', { name });
    }
    const size = (await stat(path)).size;
    if (size > this.o.maxBundleBytes) {
      await rm(path, { force: true });
      r = this.finish(id, 'TOO_LARGE', `bundle of ${size} bytes exceeds ota.maxBundleBytes (${this.o.maxBundleBytes})`, Date.now());
    } else {
      const bundle = await readFile(path);
      await rm(path, { force: true });
      this.log.info('ota: local push', { id, bytes: bundle.length });
      r = await this.processBundle(bundle, id);
    }
    if (!r) return;
    await writeFile(join(inbox, `${id}.result.json.tmp`), JSON.stringify(r, null, 2));
    await rename(join(inbox, `${id}.result.json.tmp`), join(inbox, `${id}.result.json`));
  }
}

/** The transfer id of a chunk whose checks failed, if its header is readable at all. */
function looseTransferId(buf: Buffer): string | null {
  try {
    const hl = buf.readUInt32LE(4);
    const id = JSON.parse(buf.subarray(8, 8 + hl).toString('utf8')).transferId;
    return typeof id === 'string' && TRANSFER_ID.test(id) ? id : null;
  } catch {
    return null;
  }
}
