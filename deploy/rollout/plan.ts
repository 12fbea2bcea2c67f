// A staged rollout, the pure part: which devices (by name, by group, or every device of the site),
// which of them are the canaries, the waves after them, and the verdict read from a device's
// retained model/state. No I/O here.
import type { ModelRef, StatePayload } from '../ota/protocol.js';

export type Count = { n: number } | { pct: number };

/** "3" or "10%" (of the devices targeted). */
export function parseCount(s: string, flag: string): Count {
  const m = /^(\d+)(%?)$/.exec(s.trim());
  if (!m) throw new Error(`${flag} takes a number of devices or a percentage (3, 10%), not ${JSON.stringify(s)}`);
  const v = Number(m[1]);
  if (m[2]) {
    if (v < 1 || v > 100) throw new Error(`${flag} ${s}: a percentage must be 1%..100%`);
    return { pct: v };
  }
  return { n: v };
}

/** How many devices a count means out of `total` (a percentage rounds up: 10% of 3 is 1). */
export const countOf = (c: Count, total: number): number => Math.min(total, 'n' in c ? c.n : Math.ceil((total * c.pct) / 100));

export interface Target {
  devices?: string[];
  group?: string;
}

/** The devices a push targets, sorted: those named, or those of a group, or every device with a state. */
export function selectDevices(states: Map<string, StatePayload>, t: Target): string[] {
  if (t.devices?.length) return [...new Set(t.devices)].sort();
  const all = [...states.keys()].sort();
  if (t.group) return all.filter((d) => states.get(d)?.groups?.includes(t.group!));
  return all;
}

export interface Plan {
  canaries: string[];
  waves: string[][];
}

/**
 * Canaries first (the first `canary` devices in name order), then waves of `wave` devices. Without
 * an explicit --canary a single device gets no canary stage (nothing would be left to protect).
 */
export function planRollout(devices: string[], canary: Count | undefined, wave: Count): Plan {
  const nCanary = canary ? countOf(canary, devices.length) : devices.length > 1 ? 1 : 0;
  const canaries = devices.slice(0, nCanary);
  const rest = devices.slice(nCanary);
  const size = Math.max(1, countOf(wave, devices.length));
  const waves: string[][] = [];
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  return { canaries, waves };
}

export const sameModel = (a: ModelRef | null | undefined, b: ModelRef | null | undefined) => !!a && !!b && a.name === b.name && a.version === b.version;

export type Verdict = { kind: 'passed' } | { kind: 'failed'; why: string } | { kind: 'waiting'; until: number | null };

/**
 * Probation verdict for `model` pushed as `transferId`, from the device's retained state: passed
 * when the model is active and off probation; failed when the device rolled it back (or runs
 * something else after our push). A state from before our push (another transferId) tells nothing.
 */
export function probationVerdict(s: StatePayload | undefined, model: ModelRef, transferId: string): Verdict {
  if (!s) return { kind: 'waiting', until: null };
  const ours = s.lastPush?.transferId === transferId;
  if (!ours && s.lastPush !== null) return { kind: 'waiting', until: null };
  if (sameModel(s.active, model)) return s.probationUntil ? { kind: 'waiting', until: Date.parse(s.probationUntil) } : { kind: 'passed' };
  if (!ours) return { kind: 'failed', why: `the device restarted and runs ${s.active ? `${s.active.name}@${s.active.version}` : 'nothing'}` };
  if (s.lastRollback && sameModel(s.lastRollback.from, model)) return { kind: 'failed', why: `rolled back: ${s.lastRollback.reason}` };
  return { kind: 'failed', why: `the device runs ${s.active ? `${s.active.name}@${s.active.version}` : 'nothing'} after the push` };
}
