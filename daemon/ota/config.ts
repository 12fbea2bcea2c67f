// The `ota` config section (schema parts used by daemon/config.ts) and the top-level `groups`.
// docs/OTA.md and docs/SECURITY.md explain what each setting protects.
import { fail, intRange, stringFormat } from '../config/convict.js';
import { KEY_ROLES, type KeyRole } from '../../models/signing.js';
import { ID } from '../../models/update-meta.js';

/** A trusted key: PEM text or a PEM file path (roles "model" and "command"), or {key, roles}. */
export type TrustedKeyEntry = string | { key: string; roles: KeyRole[] };

export interface OtaConfig {
  enabled: boolean;
  /** Holds models/<name>/<version>/, store.json, staging/, inbox/ (local pushes) and the OTA state files. */
  stateDir: string;
  /** Trusted ed25519 public keys with their roles (docs/SECURITY.md, key roles). */
  trustedKeys: TrustedKeyEntry[];
  /** Valid signatures by this many different "model" keys are needed for a bundle (k of n). */
  modelThreshold: number;
  /** Development only: accept unsigned / untrusted bundles (hashes are still checked). Logged loudly. */
  allowUnsigned: boolean;
  maxBundleBytes: number;
  /** Largest chunk (bytes of bundle data per message); also sets the MQTT maximum packet size. */
  maxChunkBytes: number;
  /** Free space that must remain on the state dir's file system after staging and installing a bundle. */
  minFreeBytes: number;
  /** A transfer with no chunk for this long is dropped (s). */
  transferTimeoutSec: number;
  /** A transfer not complete this long after its first chunk is dropped, however steadily chunks come (s). */
  transferDeadlineSec: number;
  /** Installed versions kept besides active and previous. */
  keepVersions: number;
  probationSec: number;
  /** During probation: (failed + non-finite) / taken frames above this rolls back (0..1). */
  probationMaxErrorRate: number;
  probationMinFrames: number;
  /** During probation: a median inference time above factor × the previous model's (and above it by latencyMinMs) rolls back. */
  probationLatencyFactor: number;
  probationLatencyMinMs: number;
  /** The daemon's Nth start during one probation falls back to the last good version instead of resuming. */
  probationMaxBoots: number;
  /** How often the inbox for local pushes (edgectl push --local) is looked at. */
  localPollMs: number;
  /** Signed MQTT commands (rollback) older than this, or reused, are refused (s). */
  commandMaxAgeSec: number;
}

const number = (min: number, max: number) => (x: unknown) => {
  if (typeof x !== 'number' || !(x >= min && x <= max)) fail(`must be a number ${min}..${max}`);
};

export const groupsFormat = (x: unknown): void => {
  if (!Array.isArray(x) || !x.every((g) => typeof g === 'string' && ID.test(g))) fail('must be an array of group names (1-64 of A-Z a-z 0-9 _ -)');
  const twice = (x as string[]).find((g, i) => (x as string[]).indexOf(g) !== i);
  if (twice !== undefined) fail(`names ${JSON.stringify(twice)} twice`);
};

function trustedKeysFormat(x: unknown): void {
  if (!Array.isArray(x)) fail('must be an array of PEM strings / PEM file paths, or {"key": PEM or path, "roles": ["model" | "command" | "downgrade", …]}');
  (x as unknown[]).forEach((k, i) => {
    if (typeof k === 'string') {
      if (k.trim() === '') fail(`[${i}]: empty`);
      return;
    }
    const o = k as { key?: unknown; roles?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.key !== 'string' || !o.key.trim()) fail(`[${i}]: expected a PEM string / path, or {"key", "roles"}`);
    for (const kk of Object.keys(o)) if (kk !== 'key' && kk !== 'roles') fail(`[${i}].${kk}: unknown key`);
    if (!Array.isArray(o.roles) || o.roles.length < 1 || !o.roles.every((r) => KEY_ROLES.includes(r as KeyRole))) fail(`[${i}].roles: expected a non-empty array of ${KEY_ROLES.join(', ')}`);
  });
}

export const otaSchema = {
  enabled: { doc: 'Accept model pushes (MQTT and local inbox).', format: Boolean, default: false },
  stateDir: { doc: 'Model store folder.', format: stringFormat(true), default: '/var/lib/mobilenet-edge' },
  trustedKeys: { doc: 'Trusted ed25519 public keys: PEM text or PEM file paths (roles model + command), or {"key", "roles": ["model" | "command" | "downgrade"]}.', format: trustedKeysFormat, default: [] as TrustedKeyEntry[] },
  modelThreshold: { doc: 'Signatures by this many different "model" keys are needed for a bundle (k of n).', format: intRange(1, 16), default: 1 },
  allowUnsigned: { doc: 'DEVELOPMENT ONLY: accept unsigned or untrusted bundles.', format: Boolean, default: false },
  maxBundleBytes: { doc: 'Largest bundle accepted (bytes).', format: intRange(1024, 4 * 1024 ** 3), default: 256 * 1024 ** 2 },
  maxChunkBytes: { doc: 'Largest chunk of bundle data per MQTT message (bytes); the MQTT maximum packet size is this + 8 KiB.', format: intRange(1024, 16 * 1024 ** 2), default: 256 * 1024 },
  minFreeBytes: { doc: 'Free space to keep on the state dir file system (bytes).', format: intRange(0, Number.MAX_SAFE_INTEGER), default: 64 * 1024 ** 2 },
  transferTimeoutSec: { doc: 'A transfer with no chunk for this long is dropped (s).', format: intRange(1, 3600), default: 60 },
  transferDeadlineSec: { doc: 'A transfer not complete this long after its first chunk is dropped (s).', format: intRange(1, 86400), default: 900 },
  keepVersions: { doc: 'Installed versions kept besides active and previous.', format: intRange(0, 100), default: 3 },
  probationSec: { doc: 'After a swap, crashes or errors roll back for this long (s; 0 = off).', format: intRange(0, 86400), default: 300 },
  probationMaxErrorRate: { doc: '(Failed + non-finite)/taken frames above this during probation roll back.', format: number(0, 1), default: 0.2 },
  probationMinFrames: { doc: 'Frames needed before the error rate and latency count.', format: intRange(1, 1_000_000), default: 20 },
  probationLatencyFactor: { doc: 'During probation, a median inference time above this × the previous model\'s rolls back.', format: number(1, 1000), default: 3 },
  probationLatencyMinMs: { doc: '… and only when it is also this many ms above it (noise on tiny models).', format: number(0, 60_000), default: 20 },
  probationMaxBoots: { doc: 'The Nth start of the daemon during one probation falls back to the last good version.', format: intRange(1, 100), default: 3 },
  localPollMs: { doc: 'How often the local inbox is checked (ms).', format: intRange(100, 60_000), default: 1000 },
  commandMaxAgeSec: { doc: 'Signed MQTT commands (rollback) older than this (s), or replayed, are refused.', format: intRange(5, 3600), default: 60 },
};

/** The `ota` section with every default (what a config file without `ota` gets). */
export function otaDefaults(): OtaConfig {
  return Object.fromEntries(Object.entries(otaSchema).map(([k, v]) => [k, structuredClone((v as { default: unknown }).default)])) as unknown as OtaConfig;
}
