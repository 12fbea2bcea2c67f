// Update metadata inside the signed manifest (model.json "update"), in the spirit of TUF: whom a
// bundle is for (targets), until when it may be installed (expires), and its place in the order of
// updates (sequence, a number the device keeps and that must grow). Pure.
//
//   "update": { "sequence": 1764694800123, "expires": "2026-12-09T17:00:00.123Z",
//               "targets": { "site": "plant-3", "devices": ["edge-1"], "groups": ["lobby"] },
//               "allowDowngrade": false }
//
// The operator end (deploy/push.ts) fills it in with defaultUpdateMeta (sequence = signing time in
// ms, expiry 7 days); the device end (daemon/ota/) checks it with checkUpdate before installing.
import { CodedError } from './coded-error.js';
import type { KeyRole } from './signing.js';

export interface UpdateTargets {
  site: string;
  /** Device ids; with groups: a device named in either may install. Neither: every device of the site. */
  devices?: string[];
  groups?: string[];
}

export interface UpdateMeta {
  /** Must be greater than the highest sequence this device has accepted (kept on disk). */
  sequence: number;
  /** ISO 8601 time after which the bundle is refused. */
  expires: string;
  targets: UpdateTargets;
  /** A version below the active one is installed only with this, signed by a key with role "downgrade". */
  allowDowngrade?: boolean;
}

export const UPDATE_KEYS = ['sequence', 'expires', 'targets', 'allowDowngrade'];
export const DEFAULT_EXPIRES_HOURS = 7 * 24;
/** Site, device and group names: topic-safe. */
export const ID = /^[A-Za-z0-9_-]{1,64}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems of a manifest's "update" value, with key paths ("update.expires: …"); empty when valid. */
export function updateMetaProblems(raw: unknown): string[] {
  const p: string[] = [];
  if (!isObj(raw)) return ['update: expected an object {sequence, expires, targets[, allowDowngrade]}'];
  for (const k of Object.keys(raw)) if (!UPDATE_KEYS.includes(k)) p.push(`update.${k}: unknown key`);
  if (typeof raw.sequence !== 'number' || !Number.isSafeInteger(raw.sequence) || raw.sequence < 1) p.push(`update.sequence: expected a positive integer, got ${JSON.stringify(raw.sequence)}`);
  if (typeof raw.expires !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(raw.expires) || !Number.isFinite(Date.parse(raw.expires))) p.push(`update.expires: expected an ISO 8601 time, got ${JSON.stringify(raw.expires)}`);
  if (raw.allowDowngrade !== undefined && typeof raw.allowDowngrade !== 'boolean') p.push('update.allowDowngrade: expected true or false');
  const t = raw.targets;
  if (!isObj(t)) p.push('update.targets: expected an object {site[, devices][, groups]}');
  else {
    for (const k of Object.keys(t)) if (!['site', 'devices', 'groups'].includes(k)) p.push(`update.targets.${k}: unknown key`);
    if (typeof t.site !== 'string' || !ID.test(t.site)) p.push(`update.targets.site: expected a site name (A-Z a-z 0-9 _ -), got ${JSON.stringify(t.site)}`);
    for (const k of ['devices', 'groups'] as const)
      if (t[k] !== undefined && (!Array.isArray(t[k]) || !(t[k] as unknown[]).every((x) => typeof x === 'string' && ID.test(x)))) p.push(`update.targets.${k}: expected an array of names (A-Z a-z 0-9 _ -)`);
  }
  return p;
}

/** The metadata edgectl signs when nothing else is asked for: sequence = now in ms, expiry in 7 days. */
export function defaultUpdateMeta(o: { site: string; devices?: string[]; groups?: string[]; now?: number; expiresHours?: number; sequence?: number; allowDowngrade?: boolean }): UpdateMeta {
  const now = o.now ?? Date.now();
  const targets: UpdateTargets = { site: o.site };
  if (o.devices?.length) targets.devices = [...o.devices];
  if (o.groups?.length) targets.groups = [...o.groups];
  const m: UpdateMeta = { sequence: o.sequence ?? now, expires: new Date(now + (o.expiresHours ?? DEFAULT_EXPIRES_HOURS) * 3600_000).toISOString(), targets };
  if (o.allowDowngrade) m.allowDowngrade = true;
  const p = updateMetaProblems(m);
  if (p.length) throw new Error(p.join('; '));
  return m;
}

/** The manifest bytes with "update" set (every other key kept, in order). */
export function withUpdateMeta(manifestBytes: Buffer, meta: UpdateMeta): Buffer {
  const m = JSON.parse(manifestBytes.toString('utf8')) as Obj;
  return Buffer.from(JSON.stringify({ ...m, update: meta }, null, 2) + '\n');
}

/** Two manifests describe the same model when they agree on everything but the update metadata. */
export function sameModel(a: Buffer, b: Buffer): boolean {
  const strip = (x: Buffer) => {
    const o = JSON.parse(x.toString('utf8')) as Obj;
    delete o.update;
    return JSON.stringify(o);
  };
  try {
    return strip(a) === strip(b);
  } catch {
    return a.equals(b);
  }
}

const collator = new Intl.Collator('en', { numeric: true });
/** Versions in numeric-aware order: 2.10.0 > 2.9.1 > 2.9.0 (negative when a < b). */
export const compareVersions = (a: string, b: string): number => collator.compare(a, b);

export type UpdateRefusal = 'METADATA_MISSING' | 'EXPIRED' | 'WRONG_TARGET' | 'STALE_SEQUENCE' | 'DOWNGRADE' | 'WRONG_KEY_ROLE';
export class UpdateError extends CodedError<UpdateRefusal> {}

/** What the device knows when it checks a bundle. */
export interface DeviceView {
  site: string;
  deviceId: string;
  groups: readonly string[];
  now: number;
  /** The highest sequence accepted so far (0: none). */
  sequenceFloor: number;
  active: { name: string; version: string } | null;
}

/**
 * Check a verified bundle's metadata for this device; throws UpdateError with the refusal's code.
 * `signerRoles`: the roles of each trusted signer (null when accepted unsigned under allowUnsigned:
 * then only the metadata itself is checked, and a missing block is allowed).
 */
export function checkUpdate(meta: UpdateMeta | undefined, model: { name: string; version: string }, d: DeviceView, signerRoles: (readonly KeyRole[])[] | null): void {
  if (!meta) {
    if (signerRoles === null) return;
    throw new UpdateError('METADATA_MISSING', 'the manifest has no "update" block (targets, expires, sequence): re-sign it with a current edgectl');
  }
  if (Date.parse(meta.expires) <= d.now) throw new UpdateError('EXPIRED', `the bundle expired at ${meta.expires} (device time ${new Date(d.now).toISOString()})`);
  const t = meta.targets;
  const named = (t.devices?.length ?? 0) + (t.groups?.length ?? 0) > 0;
  const forMe = t.site === d.site && (!named || (t.devices ?? []).includes(d.deviceId) || (t.groups ?? []).some((g) => d.groups.includes(g)));
  if (!forMe)
    throw new UpdateError('WRONG_TARGET', `the bundle is for site ${t.site}${t.devices?.length ? `, devices ${t.devices.join(', ')}` : ''}${t.groups?.length ? `, groups ${t.groups.join(', ')}` : ''}; this is ${d.site}/${d.deviceId} (groups: ${d.groups.join(', ') || 'none'})`);
  if (meta.sequence <= d.sequenceFloor) throw new UpdateError('STALE_SEQUENCE', `bundle sequence ${meta.sequence} is not above ${d.sequenceFloor}, the highest this device has accepted: an old bundle replayed?`);
  if (d.active && d.active.name === model.name && compareVersions(model.version, d.active.version) < 0) {
    if (!meta.allowDowngrade) throw new UpdateError('DOWNGRADE', `${model.name} ${model.version} is older than the active ${d.active.version}: going back needs a signed rollback command or a bundle with allowDowngrade signed by a "downgrade" key`);
    if (signerRoles && !signerRoles.some((r) => r.includes('downgrade'))) throw new UpdateError('WRONG_KEY_ROLE', `allowDowngrade is set, but no signer has the role "downgrade"`);
  }
}
