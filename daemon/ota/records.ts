// What the OTA device end remembers across restarts, each in its own small file in ota.stateDir,
// written atomically (temp file, fsync, rename, folder fsync):
//
//   update-floor.json  {"sequence": N, "lastRollback": {...} | null}   the highest accepted update sequence
//   probation.json     the trial in progress (which version, since / until, boots, latency baseline)
//   device.json        {"site", "deviceId", "groups"}: read by `edgectl push --local` to target this device
//
// (command-nonces.json: nonce-file.ts.) Unreadable or malformed files count as absent and are logged.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import type { VersionRef } from './model-store.js';

export function writeDurable(file: string, value: unknown, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function readJson(file: string, log: Logger): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('ota: unreadable state file, ignored', { file, err: (e as Error).message });
    return null;
  }
}

const isRef = (r: unknown): r is VersionRef => typeof r === 'object' && r !== null && typeof (r as VersionRef).name === 'string' && typeof (r as VersionRef).version === 'string';
const plain = (r: VersionRef): VersionRef => ({ name: r.name, version: r.version });

export interface RollbackRecord {
  from: VersionRef | null;
  to: VersionRef | null;
  reason: string;
  at: string;
}

/** The update sequence floor (and the last rollback, for the state topic after a restart). */
export class FloorFile {
  readonly file: string;
  sequence = 0;
  lastRollback: RollbackRecord | null = null;
  constructor(stateDir: string, log: Logger) {
    this.file = join(stateDir, 'update-floor.json');
    const o = readJson(this.file, log) as { sequence?: unknown; lastRollback?: RollbackRecord } | null;
    if (o && typeof o.sequence === 'number' && Number.isSafeInteger(o.sequence)) this.sequence = o.sequence;
    if (o?.lastRollback && typeof o.lastRollback.reason === 'string') this.lastRollback = o.lastRollback;
  }
  /** Raise the floor (never lowers it); throws when it cannot be written. */
  raise(sequence: number): void {
    if (sequence <= this.sequence) return;
    writeDurable(this.file, { sequence, lastRollback: this.lastRollback });
    this.sequence = sequence;
  }
  recordRollback(r: RollbackRecord): void {
    this.lastRollback = r;
    writeDurable(this.file, { sequence: this.sequence, lastRollback: r });
  }
}

export interface ProbationRecord {
  format: 'mobilenet-edge/probation@1';
  model: VersionRef;
  /** The version it replaced (the last good one). */
  from: VersionRef | null;
  since: number;
  until: number;
  /** Starts of the daemon since the activation (0 in the run that activated it). */
  boots: number;
  /** Median inference time of the replaced model (ms), the latency reference; null when unknown. */
  baselineMs: number | null;
}

export class ProbationFile {
  readonly file: string;
  constructor(
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.file = join(stateDir, 'probation.json');
  }
  read(): ProbationRecord | null {
    const o = readJson(this.file, this.log) as ProbationRecord | null;
    if (!o || o.format !== 'mobilenet-edge/probation@1' || !isRef(o.model) || !(o.from === null || isRef(o.from)) || typeof o.since !== 'number' || typeof o.until !== 'number' || typeof o.boots !== 'number') return null;
    return { ...o, model: plain(o.model), from: o.from && plain(o.from), baselineMs: typeof o.baselineMs === 'number' ? o.baselineMs : null };
  }
  write(r: ProbationRecord): void {
    writeDurable(this.file, r);
  }
  clear(): void {
    rmSync(this.file, { force: true });
  }
}

export function writeDeviceIdentity(stateDir: string, d: { site: string; deviceId: string; groups: string[] }): void {
  writeDurable(join(stateDir, 'device.json'), d, 0o644);
}
