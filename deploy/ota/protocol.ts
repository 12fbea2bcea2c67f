// The OTA protocol, both ends: topic names, chunk framing, chunking and the pure bookkeeping of
// reassembly, and the result / state payloads. No I/O here (the device end is wired by daemon/).
//
// Chunk message (MQTT payload, QoS 1, topic {site}/{deviceId}/model/push):
//   0  4  magic "MEC" + version byte (0x01)
//   4  4  header length H (uint32 LE)
//   8  H  header JSON: ChunkHeader
//   8+H …  the chunk's bytes
import { createHash } from 'node:crypto';
import { CodedError } from '../../models/coded-error.js';

export const CHUNK_MAGIC = Buffer.from([0x4d, 0x45, 0x43, 0x01]); // "MEC\x01"
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNKS = 100_000;
export const TRANSFER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const otaTopics = (site: string, deviceId: string) => ({
  push: `${site}/${deviceId}/model/push`,
  result: (id: string) => `${site}/${deviceId}/model/result/${id}`,
  /** What the device reports while a transfer is under way (ProgressPayload; QoS 0, not retained). */
  progress: (id: string) => `${site}/${deviceId}/model/progress/${id}`,
  state: `${site}/${deviceId}/model/state`,
  rollback: `${site}/${deviceId}/model/rollback`,
});
/** Every device's state topic of a site (edgectl status, push --all). */
export const allStatesTopic = (site: string) => `${site}/+/model/state`;
/** Every device's progress reports of a site (edgectl push: one subscription for a whole rollout). */
export const allProgressTopic = (site: string) => `${site}/+/model/progress/+`;

/**
 * Progress of one transfer as the device sees it: 'receiving' at each quarter of the chunks written,
 * 'received' when the whole bundle is in and matches its hash, 'verified' when its signature and
 * files check out (before the swap). The result message follows.
 */
export interface ProgressPayload {
  transferId: string;
  deviceId: string;
  stage: 'receiving' | 'received' | 'verified';
  received: number;
  count: number;
  at: string;
}

export interface ChunkHeader {
  transferId: string;
  index: number;
  count: number;
  /** Bytes of the whole bundle. */
  size: number;
  /** Bytes of every chunk but the last. */
  chunkSize: number;
  /** sha256 of this chunk's bytes. */
  sha256: string;
  /** sha256 of the whole bundle. */
  bundleSha256: string;
}

export type ResultCode =
  | 'OK'
  | 'ALREADY_ACTIVE'
  | 'ROLLED_BACK'
  | 'BUSY'
  | 'TOO_LARGE'
  | 'DISK_FULL'
  | 'BAD_CHUNK'
  | 'TRANSFER_TIMEOUT'
  | 'BAD_BUNDLE'
  | 'MANIFEST_INVALID'
  | 'HASH_MISMATCH'
  | 'UNSIGNED'
  | 'UNTRUSTED_KEY'
  | 'BAD_SIGNATURE'
  | 'VERSION_CONFLICT'
  | 'INPUT_SIZE_CHANGED'
  | 'LOAD_FAILED'
  | 'TEST_VECTOR_FAILED'
  | 'NO_PREVIOUS'
  | 'REPLAYED'
  | 'STALE_COMMAND'
  | 'WRONG_KEY_ROLE'
  | 'THRESHOLD_NOT_MET'
  | 'METADATA_MISSING'
  | 'EXPIRED'
  | 'WRONG_TARGET'
  | 'STALE_SEQUENCE'
  | 'DOWNGRADE'
  | 'MARKED_BAD'
  | 'TRANSFER_DEADLINE'
  | 'BAD_COMMAND'
  | 'INTERNAL';

export interface ModelRef {
  name: string;
  version: string;
  sha256?: string;
}

/** Published once per transfer / command on {site}/{deviceId}/model/result/{transferId} (QoS 1, not retained). */
export interface ResultPayload {
  transferId: string;
  deviceId: string;
  ok: boolean;
  code: ResultCode;
  message: string;
  model?: ModelRef;
  active: ModelRef | null;
  previous: ModelRef | null;
  /** Frames the pipeline could not classify between the start and the end of the swap (0 expected). */
  unclassified?: number;
  ms: number;
  at: string;
}

/** Retained on {site}/{deviceId}/model/state: what runs, what is kept, what the last push did. */
export interface StatePayload {
  deviceId: string;
  /** The device's groups (config `groups`): update targets may name them. */
  groups: string[];
  /** The highest update sequence this device has accepted: a bundle must carry a greater one. */
  sequence: number;
  /** Versions rolled back on this device: never previous, never a rollback target, refused if pushed again. */
  bad: (ModelRef & { reason: string; at: string })[];
  /** The trial in progress (persisted: a restart resumes it). */
  probation: { model: ModelRef; since: string; until: string; boots: number } | null;
  active: ModelRef | null;
  previous: ModelRef | null;
  versions: ModelRef[];
  probationUntil: string | null;
  allowUnsigned: boolean;
  lastPush: Omit<ResultPayload, 'deviceId' | 'active' | 'previous'> | null;
  lastRollback: { from: ModelRef | null; to: ModelRef | null; reason: string; at: string } | null;
  at: string;
}

export class ChunkError extends CodedError<'BAD_CHUNK' | 'TOO_LARGE'> {
  /** The chunk's transfer id when its header was readable (so the refusal can be answered). */
  transferId?: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function encodeChunk(h: ChunkHeader, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([CHUNK_MAGIC, len, json, data]);
}

/** Split a bundle into chunk messages (pure). */
export function chunkBundle(bundle: Buffer, transferId: string, chunkSize = DEFAULT_CHUNK_BYTES): Buffer[] {
  if (!TRANSFER_ID.test(transferId)) throw new Error(`bad transfer id ${JSON.stringify(transferId)}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error('chunk size must be a positive integer');
  const count = Math.max(1, Math.ceil(bundle.length / chunkSize));
  const bundleSha256 = sha(bundle);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const data = bundle.subarray(i * chunkSize, Math.min(bundle.length, (i + 1) * chunkSize));
    out.push(encodeChunk({ transferId, index: i, count, size: bundle.length, chunkSize, sha256: sha(data), bundleSha256 }, data));
  }
  return out;
}

/**
 * Parse and check one chunk message on its own: framing, field ranges, the chunk's length for its
 * index, its sha256, the bundle size against maxBytes and the chunk size against maxChunkBytes
 * (TOO_LARGE). The only parser of the chunk format. Throws ChunkError (with the transfer id when the
 * header names a valid one).
 */
export function decodeChunk(msg: Buffer, maxBytes: number, maxChunkBytes = Number.MAX_SAFE_INTEGER): { header: ChunkHeader; data: Buffer } {
  let id: string | undefined;
  const err = (code: 'BAD_CHUNK' | 'TOO_LARGE', m: string): never => {
    const e = new ChunkError(code, m);
    if (id) e.transferId = id;
    throw e;
  };
  const bad = (m: string): never => err('BAD_CHUNK', m);
  if (msg.length < 8 || !msg.subarray(0, 4).equals(CHUNK_MAGIC)) bad('not a chunk message (bad magic)');
  const hl = msg.readUInt32LE(4);
  if (hl > 4096 || 8 + hl > msg.length) bad(`chunk header length ${hl} is out of range`);
  let h: ChunkHeader;
  try {
    h = JSON.parse(msg.subarray(8, 8 + hl).toString('utf8'));
  } catch {
    return bad('chunk header is not JSON');
  }
  if (typeof h !== 'object' || h === null || typeof h.transferId !== 'string' || !TRANSFER_ID.test(h.transferId)) bad(`bad transfer id ${JSON.stringify(h?.transferId)}`);
  id = h.transferId;
  const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
  if (msg.length - 8 - hl > maxChunkBytes) err('TOO_LARGE', `a chunk message of ${msg.length} bytes exceeds ota.maxChunkBytes (${maxChunkBytes})`);
  if (!int(h.size, 1, Number.MAX_SAFE_INTEGER) || !int(h.chunkSize, 1, Number.MAX_SAFE_INTEGER) || !int(h.count, 1, MAX_CHUNKS)) bad('chunk header needs integer size, chunkSize and count');
  if (h.size > maxBytes) err('TOO_LARGE', `bundle of ${h.size} bytes exceeds ota.maxBundleBytes (${maxBytes})`);
  if (h.chunkSize > maxChunkBytes && h.count > 1) err('TOO_LARGE', `chunk size ${h.chunkSize} exceeds ota.maxChunkBytes (${maxChunkBytes}): push with smaller chunks`);
  if (h.count !== Math.ceil(h.size / h.chunkSize)) bad(`count ${h.count} does not match size ${h.size} / chunkSize ${h.chunkSize}`);
  if (!int(h.index, 0, h.count - 1)) bad(`chunk index ${JSON.stringify(h.index)} is not in 0..${h.count - 1}`);
  if (typeof h.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.sha256) || typeof h.bundleSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.bundleSha256)) bad('chunk header needs sha256 and bundleSha256 (hex)');
  const data = msg.subarray(8 + hl);
  const want = h.index < h.count - 1 ? h.chunkSize : h.size - h.chunkSize * (h.count - 1);
  if (data.length !== want) bad(`chunk ${h.index} has ${data.length} bytes, expected ${want}`);
  if (sha(data) !== h.sha256) bad(`chunk ${h.index} does not match its sha256`);
  return { header: h, data };
}

/** What the device knows about the transfer in progress (at most one at a time). */
export interface Transfer {
  id: string;
  count: number;
  size: number;
  chunkSize: number;
  bundleSha256: string;
  /** sha256 of each chunk received so far, by index. */
  chunks: (string | undefined)[];
  received: number;
  startedAt: number;
  lastAt: number;
}

export type ChunkPlan =
  | { kind: 'start'; transfer: Transfer; offset: number }
  | { kind: 'write'; offset: number }
  | { kind: 'duplicate' }
  | { kind: 'busy'; current: string }
  | { kind: 'conflict'; message: string };

/**
 * Decide what a (checked) chunk means for the transfer in progress. Chunks may come out of order
 * (each is written at index·chunkSize) or twice (QoS 1 is at-least-once: an identical repeat is
 * ignored; a repeat with other bytes, or a header that disagrees with the transfer, is a conflict).
 * A chunk of another transfer while one is in progress is 'busy'.
 */
export function planChunk(current: Transfer | null, h: ChunkHeader, now: number): ChunkPlan {
  const offset = h.index * h.chunkSize;
  if (!current) {
    const chunks: (string | undefined)[] = new Array(h.count).fill(undefined);
    return { kind: 'start', offset, transfer: { id: h.transferId, count: h.count, size: h.size, chunkSize: h.chunkSize, bundleSha256: h.bundleSha256, chunks, received: 0, startedAt: now, lastAt: now } };
  }
  if (current.id !== h.transferId) return { kind: 'busy', current: current.id };
  if (current.count !== h.count || current.size !== h.size || current.chunkSize !== h.chunkSize || current.bundleSha256 !== h.bundleSha256)
    return { kind: 'conflict', message: `chunk ${h.index} disagrees with the transfer's size/count/bundle hash` };
  const had = current.chunks[h.index];
  if (had === h.sha256) return { kind: 'duplicate' };
  if (had !== undefined) return { kind: 'conflict', message: `chunk ${h.index} arrived twice with different bytes` };
  return { kind: 'write', offset };
}

/** Record a written chunk; returns true when every chunk is in. */
export function markChunk(t: Transfer, h: ChunkHeader, now: number): boolean {
  if (t.chunks[h.index] === undefined) t.received++;
  t.chunks[h.index] = h.sha256;
  t.lastAt = now;
  return t.received === t.count;
}

/** Indexes still missing (for the timeout report). */
export function missingChunks(t: Transfer): number[] {
  const out: number[] = [];
  t.chunks.forEach((c, i) => c === undefined && out.push(i));
  return out;
}
