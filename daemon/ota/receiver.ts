// The receiving end of MQTT pushes: chunk messages (deploy/ota/protocol.ts parses them) are written
// straight into a staging file at index × chunkSize, so the bundle is never held in memory while it
// arrives. One transfer at a time; a transfer ends with a complete bundle (handed to the installer),
// or a refusal: no chunk for ota.transferTimeoutSec, not complete ota.transferDeadlineSec after its
// first chunk (a trickle cannot hold the slot), a bad chunk, too large, too little disk.
// Refusals of transfers that never started (a flood of junk) are answered but do not touch the state.
import { open, rm, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { hashRange } from '../../models/bundle-source.js';
import { ChunkError, decodeChunk, markChunk, missingChunks, planChunk, type ResultCode, type Transfer } from '../../deploy/ota/protocol.js';
import type { Logger } from '../log.js';
import { monoMs } from '../../pipelines/clock.js';

export interface ReceiverOptions {
  stagingDir: string;
  maxBundleBytes: number;
  maxChunkBytes: number;
  minFreeBytes: number;
  transferTimeoutSec: number;
  transferDeadlineSec: number;
}

export interface ReceiverDeps {
  /** True while the installer is busy (a push being activated, a rollback): a new transfer gets BUSY. */
  busy(): boolean;
  /** A transfer ended without reaching the installer. `started`: it had begun staging (it goes into lastPush). */
  refuse(id: string, code: ResultCode, message: string, t0: number, started: boolean): void;
  /** A complete bundle, in the staging file at `path`, whose bytes match the bundleSha256 of its chunks. The callee removes the file. */
  complete(path: string, id: string, t0: number): Promise<unknown>;
  /** How far a transfer got, as the device saw it: each quarter of the chunks written, then received. */
  progress?(id: string, stage: 'receiving' | 'received', received: number, count: number): void;
}

export class Receiver {
  private transfer: Transfer | null = null;
  private staging: { fh: FileHandle; path: string } | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly done = new Set<string>();

  constructor(
    private readonly o: ReceiverOptions,
    private readonly deps: ReceiverDeps,
    private readonly log: Logger,
  ) {}

  /** One MQTT message on model/push; handled in order, one at a time. */
  onMessage(buf: Buffer): void {
    this.queue = this.queue.then(() => this.onChunk(buf)).catch((e) => this.log.error('ota chunk handling failed', { err: (e as Error).message }));
  }

  /** The id of the transfer being received, if any. */
  get current(): string | null {
    return this.transfer?.id ?? null;
  }

  /** Has this transfer or command id been answered already (each is answered once)? */
  answered(id: string): boolean {
    return this.done.has(id);
  }

  remember(id: string): void {
    this.done.add(id);
    if (this.done.size > 1000) this.done.delete(this.done.values().next().value!);
  }

  /**
   * Called every second: the no-chunk timeout and the whole-transfer deadline. Queued behind the
   * chunks (as they are behind each other): a chunk still waiting when the transfer fails must not
   * find the slot empty and start the same transfer again.
   */
  tick(now = monoMs()): Promise<void> {
    this.queue = this.queue.then(() => this.checkTimes(now)).catch((e) => this.log.error('ota transfer check failed', { err: (e as Error).message }));
    return this.queue;
  }

  private async checkTimes(now: number): Promise<void> {
    const tr = this.transfer;
    if (!tr || this.staging === null) return;
    const missing = missingChunks(tr);
    const list = `${missing.length} of ${tr.count} chunks missing (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''})`;
    if (now - tr.startedAt >= this.o.transferDeadlineSec * 1000) await this.fail('TRANSFER_DEADLINE', `not complete ${this.o.transferDeadlineSec} s after its first chunk (ota.transferDeadlineSec); ${list}; staging file removed`);
    else if (now - tr.lastAt >= this.o.transferTimeoutSec * 1000) await this.fail('TRANSFER_TIMEOUT', `no chunk for ${this.o.transferTimeoutSec} s; ${list}; staging file removed`);
  }

  async stop(): Promise<void> {
    await this.abort();
  }

  private async onChunk(buf: Buffer): Promise<void> {
    let decoded;
    try {
      decoded = decodeChunk(buf, this.o.maxBundleBytes, this.o.maxChunkBytes);
    } catch (e) {
      const id = e instanceof ChunkError ? e.transferId : undefined;
      const code = e instanceof ChunkError ? e.code : 'BAD_CHUNK';
      if (!id || this.done.has(id)) return;
      if (this.transfer?.id === id) await this.fail(code, (e as Error).message);
      else if (!this.transfer) this.refuse(id, code, (e as Error).message, monoMs(), false);
      return;
    }
    const { header: h, data } = decoded;
    if (this.done.has(h.transferId)) return; // a late duplicate of a finished transfer
    const now = monoMs();
    const plan = this.deps.busy() && !this.transfer ? { kind: 'busy' as const, current: 'an activation' } : planChunk(this.transfer, h, now);
    if (plan.kind === 'busy') return this.refuse(h.transferId, 'BUSY', `another push (${plan.current}) is in progress; try again when it has finished`, now, false);
    if (plan.kind === 'duplicate') return;
    if (plan.kind === 'conflict') return this.fail('BAD_CHUNK', plan.message);
    if (plan.kind === 'start') {
      try {
        await this.checkDisk(h.size);
        const path = join(this.o.stagingDir, `${h.transferId}.part`);
        this.staging = { fh: await open(path, 'w+'), path };
      } catch (e) {
        const code = (e as { code?: string }).code === 'DISK_FULL' ? 'DISK_FULL' : 'INTERNAL';
        return this.refuse(h.transferId, code, (e as Error).message, now, true);
      }
      this.transfer = plan.transfer;
      this.log.info('ota transfer started', { transferId: h.transferId, bytes: h.size, chunks: h.count });
    }
    try {
      await this.staging!.fh.write(data, 0, data.length, plan.offset);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'DISK_FULL' : 'INTERNAL';
      return this.fail(code, `writing the staging file failed: ${(e as Error).message}`);
    }
    const tq = this.transfer!;
    if (!markChunk(tq, h, now)) {
      if (Math.floor((4 * tq.received) / tq.count) !== Math.floor((4 * (tq.received - 1)) / tq.count)) this.deps.progress?.(tq.id, 'receiving', tq.received, tq.count);
      return;
    }
    const tr = tq;
    const { fh, path } = this.staging!;
    let sha: string;
    try {
      sha = await hashRange({ size: tr.size, read: (b, off, len, pos) => fh.read(b, off, len, pos) }, 0, tr.size); // fixed-size reads, not the whole bundle
    } catch (e) {
      return this.fail('INTERNAL', `reading the staging file failed: ${(e as Error).message}`);
    }
    await fh.close();
    this.staging = null;
    this.transfer = null;
    if (sha !== tr.bundleSha256) {
      await rm(path, { force: true });
      return this.refuse(tr.id, 'BAD_CHUNK', 'the reassembled bundle does not match its sha256', tr.startedAt, true);
    }
    this.remember(tr.id);
    this.deps.progress?.(tr.id, 'received', tr.count, tr.count);
    // Activation runs outside the chunk queue: chunks of another push meanwhile are answered BUSY.
    void this.deps.complete(path, tr.id, tr.startedAt);
  }

  private async checkDisk(size: number): Promise<void> {
    const s = await statfs(this.o.stagingDir);
    const free = s.bavail * s.bsize;
    const need = 2 * size + this.o.minFreeBytes; // staging file + installed copy + reserve
    if (free < need) throw Object.assign(new Error(`not enough disk space in ${this.o.stagingDir}: ${free} bytes free, a ${size}-byte bundle needs ${need} (2x the bundle + ota.minFreeBytes ${this.o.minFreeBytes})`), { code: 'DISK_FULL' });
  }

  private async abort(): Promise<void> {
    this.transfer = null;
    const s = this.staging;
    this.staging = null;
    if (s) {
      await s.fh.close().catch(() => undefined);
      await rm(s.path, { force: true });
    }
  }

  private async fail(code: ResultCode, message: string): Promise<void> {
    const tr = this.transfer;
    await this.abort();
    if (tr) this.refuse(tr.id, code, message, tr.startedAt, true);
  }

  private refuse(id: string, code: ResultCode, message: string, t0: number, started: boolean): void {
    if (this.done.has(id)) return;
    this.remember(id);
    this.deps.refuse(id, code, message, t0, started);
  }
}
