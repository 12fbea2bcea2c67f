// A rollout's record on the operator's side: the plan, each device's progress as the devices report
// it, and the phase; kept in a file (temp + rename after every change) with the signed bundle beside
// it, so a rollout whose edgectl was interrupted can be resumed or aborted, and `edgectl status`
// can show it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelRef } from '../ota/protocol.js';
import type { Plan, Target } from './plan.js';

export const ROLLOUT_FORMAT = 'edgectl/rollout@1';

/** What the device has reported so far (sending = the broker took our chunks; the rest comes from the device). */
export type Stage = 'pending' | 'sending' | 'receiving' | 'received' | 'verified' | 'active' | 'passed' | 'failed' | 'skipped';
export const STAGE_ORDER: Stage[] = ['pending', 'sending', 'receiving', 'received', 'verified', 'active', 'passed'];

export interface DeviceRun {
  device: string;
  role: 'canary' | 'wave';
  /** 0 for canaries, 1.. for waves. */
  wave: number;
  stage: Stage;
  transferId?: string;
  /** The device's result code (OK, LOAD_FAILED…), ROLLED_BACK / NO_VERDICT after probation, NOT_SENT when skipped. */
  code?: string;
  why?: string;
  before?: ModelRef | null;
  /** Chunks: [received by the device, count]. */
  chunks?: [number, number];
  probationUntil?: string | null;
  ms?: number;
}

export type Phase = 'canaries' | 'waves' | 'done' | 'stopped' | 'interrupted' | 'aborted';

export interface RolloutState {
  format: typeof ROLLOUT_FORMAT;
  id: string;
  site: string;
  profile?: string;
  model: ModelRef;
  target: Target;
  plan: Plan;
  phase: Phase;
  stoppedBy?: string;
  /** The edgectl process running it (to tell a live rollout from an interrupted one). */
  pid: number;
  startedAt: string;
  updatedAt: string;
  chunkBytes: number;
  timeoutMs: number;
  devices: Record<string, DeviceRun>;
}

export const rolloutFiles = (dir: string, site: string) => ({ state: join(dir, `rollout-${site}.json`), bundle: join(dir, `rollout-${site}.bundle`) });

/** A rollout that is neither finished nor aborted (push refuses to start another one for the site). */
export const unfinished = (s: RolloutState): boolean => ['canaries', 'waves', 'interrupted'].includes(s.phase);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return pid !== process.pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readRollout(dir: string, site: string): RolloutState | null {
  const f = rolloutFiles(dir, site).state;
  if (!existsSync(f)) return null;
  const s = JSON.parse(readFileSync(f, 'utf8')) as RolloutState;
  if (s.format !== ROLLOUT_FORMAT) throw new Error(`${f} is not an edgectl rollout record`);
  return s;
}

export function saveRollout(dir: string, s: RolloutState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = rolloutFiles(dir, s.site).state;
  s.updatedAt = new Date().toISOString();
  writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

export function saveBundle(dir: string, site: string, bundle: Buffer): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = rolloutFiles(dir, site).bundle;
  writeFileSync(`${f}.tmp`, bundle, { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

export const readBundle = (dir: string, site: string): Buffer => readFileSync(rolloutFiles(dir, site).bundle);
export const removeBundle = (dir: string, site: string): void => rmSync(rolloutFiles(dir, site).bundle, { force: true });

export function newRollout(o: { id: string; site: string; profile?: string; model: ModelRef; target: Target; plan: Plan; chunkBytes: number; timeoutMs: number; before: Map<string, ModelRef | null> }): RolloutState {
  const devices: Record<string, DeviceRun> = {};
  // `before` left out (undefined) when not known yet: the run fills it in from the device's state
  for (const d of o.plan.canaries) devices[d] = { device: d, role: 'canary', wave: 0, stage: 'pending', before: o.before.get(d) };
  o.plan.waves.forEach((w, i) => w.forEach((d) => (devices[d] = { device: d, role: 'wave', wave: i + 1, stage: 'pending', before: o.before.get(d) })));
  const now = new Date().toISOString();
  return { format: ROLLOUT_FORMAT, id: o.id, site: o.site, profile: o.profile, model: o.model, target: o.target, plan: o.plan, phase: o.plan.canaries.length ? 'canaries' : 'waves', pid: process.pid, startedAt: now, updatedAt: now, chunkBytes: o.chunkBytes, timeoutMs: o.timeoutMs, devices };
}
