// The installer: the one lock over everything that changes which model runs. A bundle is verified
// (signatures, key roles, threshold, hashes), its signed update metadata checked against this device
// (models/update-meta.ts: expiry, targets, sequence floor, downgrade) and against the versions
// rolled back here; then installed, hot-swapped in, put on probation and activated. A rollback takes
// the same lock. Neither ever throws: the outcome carries a result code.
import { readFile } from 'node:fs/promises';
import { BundleError } from '../../models/bundle.js';
import { verifyBundleSource, type ByteSource } from '../../models/bundle-source.js';
import { CodedError } from '../../models/coded-error.js';
import type { TrustedKey } from '../../models/signing.js';
import { checkUpdate, sameModel, UpdateError } from '../../models/update-meta.js';
import type { ModelRef, ResultCode } from '../../deploy/ota/protocol.js';
import type { Logger } from '../log.js';
import { sameRef, StoreError, type ModelStore, type VersionRef } from './model-store.js';
import { SwapError, type ModelSwap } from './model-swap.js';
import type { Probation } from './probation.js';
import type { FloorFile, RollbackRecord } from './records.js';

export interface InstallerOptions {
  site: string;
  deviceId: string;
  groups: string[];
  trusted: TrustedKey[];
  modelThreshold: number;
  allowUnsigned: boolean;
  maxBundleBytes: number;
}

export interface Outcome {
  code: ResultCode;
  message: string;
  model?: ModelRef;
  unclassified?: number;
  /** Set when a rollback happened. */
  rollback?: RollbackRecord;
}

class OtaFailure extends CodedError<ResultCode> {}

const PASS_THROUGH = new Set<string>(['BAD_BUNDLE', 'MANIFEST_INVALID', 'HASH_MISMATCH', 'UNSIGNED', 'UNTRUSTED_KEY', 'BAD_SIGNATURE', 'WRONG_KEY_ROLE', 'THRESHOLD_NOT_MET', 'VERSION_CONFLICT', 'INPUT_SIZE_CHANGED', 'LOAD_FAILED', 'TEST_VECTOR_FAILED', 'NO_PREVIOUS', 'METADATA_MISSING', 'EXPIRED', 'WRONG_TARGET', 'STALE_SEQUENCE', 'DOWNGRADE']);
export function codeOf(e: unknown): ResultCode {
  if (e instanceof OtaFailure) return e.code;
  const c = (e as { code?: string }).code;
  if (e instanceof StoreError && c === 'BAD_NAME') return 'BAD_BUNDLE';
  if ((e instanceof BundleError || e instanceof SwapError || e instanceof StoreError || e instanceof UpdateError) && c && PASS_THROUGH.has(c)) return c as ResultCode;
  return 'INTERNAL';
}

export class Installer {
  private locked = false;

  constructor(
    private readonly o: InstallerOptions,
    private readonly store: ModelStore,
    private readonly swap: ModelSwap,
    private readonly probation: Probation,
    private readonly floor: FloorFile,
    private readonly log: Logger,
  ) {}

  get busy(): boolean {
    return this.locked;
  }

  /**
   * Verify, check, install, hot-swap, put on probation and activate one bundle, read from `bundle`
   * (the staged file) in fixed-size pieces: its size does not decide how much memory this takes.
   */
  async install(bundle: ByteSource, id: string, verified?: () => void): Promise<Outcome> {
    if (this.locked) return { code: 'BUSY', message: 'another push or a rollback is in progress; try again when it has finished' };
    this.locked = true;
    let model: ModelRef | undefined;
    try {
      if (bundle.size > this.o.maxBundleBytes) throw new OtaFailure('TOO_LARGE', `bundle of ${bundle.size} bytes exceeds ota.maxBundleBytes (${this.o.maxBundleBytes})`);
      const v = await verifyBundleSource(bundle, { trusted: this.o.trusted, allowUnsigned: this.o.allowUnsigned, threshold: this.o.modelThreshold });
      for (const w of v.warnings) this.log.error(`!!! UNVERIFIED MODEL ACCEPTED: ${w}`, { transferId: id });
      verified?.();
      const ref = { name: v.manifest.name, version: v.manifest.version };
      model = { ...ref, sha256: v.manifest.sha256 };
      if (this.store.isBad(ref)) throw new OtaFailure('MARKED_BAD', `${ref.name} ${ref.version} was rolled back on this device and is not installed again: give a fixed model a new version`);
      const active = this.store.pointer.active;
      checkUpdate(v.manifest.update, ref, { site: this.o.site, deviceId: this.o.deviceId, groups: this.o.groups, now: Date.now(), sequenceFloor: this.floor.sequence, active }, v.warnings.length ? null : v.signers.map((s) => s.roles));
      const sequence = v.manifest.update?.sequence;
      if (sameRef(active, ref)) {
        const have = await readFile(this.store.manifestPath(ref));
        if (!sameModel(have, v.manifestBytes)) throw new OtaFailure('VERSION_CONFLICT', `${ref.name} ${ref.version} is active with a different manifest: give the new model a new version`);
        if (sequence) this.floor.raise(sequence);
        return { code: 'ALREADY_ACTIVE', message: `${ref.name} ${ref.version} is already active; nothing to do`, model };
      }
      // Every check passed: raise the floor before anything runs, so that neither this bundle nor an
      // older one is accepted again (a bundle that then fails to load costs its sequence, nothing else).
      if (sequence) this.floor.raise(sequence);
      const installed = await this.store.install(ref, v.files.map((f) => ('bytes' in f ? f : { ...f, src: bundle })));
      let message: string;
      let unclassified: number;
      try {
        const report = await this.swap.swapTo(this.store.manifestPath(ref));
        unclassified = report.unclassified;
        message = `${ref.name} ${ref.version} active (load + warm-up + ${v.manifest.tests?.length ?? 0} test vector(s) + switch in ${report.ms} ms; signed by ${v.signers.map((s) => s.keyId).join(', ') || 'nobody (allowUnsigned)'})`;
      } catch (e) {
        if (installed === 'installed') await this.store.discard(ref);
        throw e;
      }
      this.probation.begin(ref, active);
      await this.store.activate(ref);
      return { code: 'OK', message, model, unclassified };
    } catch (e) {
      return { code: codeOf(e), message: (e as Error).message, ...(model ? { model } : {}) };
    } finally {
      this.locked = false;
    }
  }

  /** Swap back to the previous version and switch the pointer; the version left is marked bad. */
  async rollback(reason: string): Promise<Outcome> {
    if (this.locked) return { code: 'BUSY', message: 'a push is being activated; try again when it has finished' };
    const from = this.store.pointer.active;
    const to = this.store.pointer.previous;
    if (!to) return { code: 'NO_PREVIOUS', message: 'no previous version to roll back to' };
    this.locked = true;
    try {
      this.probation.end();
      await this.swap.swapTo(this.store.manifestPath(to));
      await this.store.rollback(reason);
      const rollback: RollbackRecord = { from: plain(from), to: plain(to), reason, at: new Date().toISOString() };
      this.recordRollback(rollback);
      this.log.warn('model rolled back', { from, to, reason });
      return { code: 'ROLLED_BACK', message: `rolled back from ${from?.name} ${from?.version} to ${to.name} ${to.version}: ${reason}`, rollback };
    } catch (e) {
      return { code: codeOf(e), message: `rollback to ${to.name} ${to.version} failed, ${from?.name} ${from?.version} stays: ${(e as Error).message}` };
    } finally {
      this.locked = false;
    }
  }

  private recordRollback(r: RollbackRecord): void {
    try {
      this.floor.recordRollback(r);
    } catch (e) {
      this.log.error('ota: cannot record the rollback', { file: this.floor.file, err: (e as Error).message });
    }
  }
}

const plain = (r: VersionRef | null): VersionRef | null => (r ? { name: r.name, version: r.version } : null);
