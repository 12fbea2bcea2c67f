// The engine protocol: length-prefixed frames over a byte stream (the worker's stdin/stdout).
//
//   offset  size  field
//   0       4     magic "MNE" + protocol version byte (0x01)
//   4       4     header length H (uint32 LE), JSON, UTF-8
//   8       4     body length B (uint32 LE), raw bytes (tensors, little-endian)
//   12      H     header JSON: { "type": ..., "id"?: ..., ... }
//   12+H    B     body
//
// Pure functions only: encode() and a FrameDecoder that accepts arbitrary chunks.
//
// Camera frames in requests (`faces`, `facesBatch`) have a `format` (default "rgb24"):
//   rgb24  packed R,G,B bytes, row after row: width*height*3 bytes
//   i420   planar YUV 4:2:0, 8 bit (what H.264 decoders output): the Y plane (width*height bytes,
//          row after row), then U, then V, each ceil(width/2)*ceil(height/2) bytes; BT.601, limited
//          range (Y 16..235), chroma sited at the centre of each 2x2 block. A worker converts to RGB
//          itself, only what it needs: the detector input and each face crop (pipelines/pre/yuv.ts).
// A worker lists the formats it reads in `hello.frameFormats` (absent = ["rgb24"]: protocol 1 as it
// was); the supervisor sends i420 only to a worker that lists it (EngineError UNSUPPORTED_FORMAT).
import type { FrameFormat } from '../pre/yuv.js';
import type { SlotRef } from './slots.js';

export type { FrameFormat } from '../pre/yuv.js';
export { frameBytes } from '../pre/yuv.js';

export const PROTOCOL_VERSION = 1;
export const MAGIC = Buffer.from([0x4d, 0x4e, 0x45, PROTOCOL_VERSION]); // "MNE\x01"
export const PREFIX_BYTES = 12;
export const MAX_HEADER_BYTES = 1 << 20; // 1 MiB of JSON is far beyond any real header
export const DEFAULT_MAX_BODY_BYTES = 64 << 20; // 64 MiB: a 1920x1080 float32 NCHW tensor is 24 MiB

export interface Message<H extends { type: string } = { type: string; [k: string]: unknown }> {
  header: H;
  body: Buffer;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const EMPTY = Buffer.alloc(0);

export function encode(header: { type: string; [k: string]: unknown }, body: Buffer | Uint8Array = EMPTY): Buffer {
  return Buffer.concat(encodeParts(header, body));
}

/**
 * The same frame as buffers, [prefix + header, ...body parts], so a large body (camera frames, one
 * after the other for a batch) is written as it is instead of being copied into one buffer first.
 */
export function encodeParts(header: { type: string; [k: string]: unknown }, body: Buffer | Uint8Array | (Buffer | Uint8Array)[] = EMPTY): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new ProtocolError(`header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const parts = (Array.isArray(body) ? body : [body]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const head = Buffer.allocUnsafe(PREFIX_BYTES + json.length);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(json.length, 4);
  head.writeUInt32LE(parts.reduce((n, b) => n + b.length, 0), 8);
  json.copy(head, PREFIX_BYTES);
  return [head, ...parts];
}

/** Check a 12-byte prefix; returns the header and body lengths, or a message naming what is wrong. */
export function readPrefix(prefix: Buffer, maxBodyBytes: number): { h: number; b: number } | string {
  if (!prefix.subarray(0, 3).equals(MAGIC.subarray(0, 3))) return `bad magic ${prefix.subarray(0, 4).toString('hex')} (not an engine protocol frame)`;
  if (prefix[3] !== PROTOCOL_VERSION) return `protocol version ${prefix[3]} is not supported (expected ${PROTOCOL_VERSION})`;
  const h = prefix.readUInt32LE(4);
  const b = prefix.readUInt32LE(8);
  if (h > MAX_HEADER_BYTES) return `header of ${h} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`;
  if (b > maxBodyBytes) return `body of ${b} bytes exceeds the ${maxBodyBytes}-byte limit`;
  return { h, b };
}

/** Parse a header's JSON; returns it, or a message naming what is wrong. */
export function readHeader(json: Buffer): Message['header'] | string {
  let header: unknown;
  try {
    header = JSON.parse(json.toString('utf8'));
  } catch (e) {
    return `header is not JSON: ${(e as Error).message}`;
  }
  if (typeof header !== 'object' || header === null || typeof (header as { type?: unknown }).type !== 'string') return 'header has no "type" string';
  return header as Message['header'];
}

/**
 * Reassembles messages from chunks that may split or merge frames. After a ProtocolError
 * (bad magic, oversize, bad JSON) the decoder stays failed: a byte stream cannot be
 * resynchronised safely, so the owner should drop the connection (kill the worker).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: ProtocolError | null = null;

  constructor(private readonly maxBodyBytes = DEFAULT_MAX_BODY_BYTES) {}

  /** Feed bytes; returns every complete message they finish. Throws ProtocolError on garbage. */
  push(chunk: Buffer): Message[] {
    if (this.failed) throw this.failed;
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Message[] = [];
    for (;;) {
      if (this.buffered < PREFIX_BYTES) return out;
      const lens = readPrefix(this.peek(PREFIX_BYTES), this.maxBodyBytes);
      if (typeof lens === 'string') return this.fail(lens);
      const { h, b } = lens;
      const total = PREFIX_BYTES + h + b;
      if (this.buffered < total) return out;
      const frame = this.take(total);
      const header = readHeader(frame.subarray(PREFIX_BYTES, PREFIX_BYTES + h));
      if (typeof header === 'string') return this.fail(header);
      out.push({ header, body: frame.subarray(PREFIX_BYTES + h) });
    }
  }

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  private fail(msg: string): never {
    this.failed = new ProtocolError(msg);
    this.chunks = [];
    this.buffered = 0;
    throw this.failed;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    const head = this.chunks[0];
    const frame = head.subarray(0, n);
    if (head.length === n) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    return frame;
  }
}

// ---- message vocabulary (headers) ----

export interface TensorInfo {
  name: string;
  shape: (number | string)[];
  type?: string;
}

/** worker → supervisor, once at start. */
export interface HelloMsg {
  type: 'hello';
  protocol: number;
  engine: string; // "onnxruntime" | "edgetpu"
  runtimeVersion: string;
  pid: number;
  /** Frame formats the worker reads in faces requests; absent = ["rgb24"]. */
  frameFormats?: FrameFormat[];
  slots?: boolean; // reads a frame named by a shared-memory `slot` ({path, bytes}) in place of its body (D134)
}

export interface ProviderRequest {
  name: string;
  [option: string]: unknown;
}

/** supervisor → worker: load a model (manifest already parsed and hash-checked or to be checked by the worker). */
export interface LoadMsg {
  type: 'load';
  id: number;
  manifestPath: string;
  executionProviders: (string | ProviderRequest)[];
  threads: number;
}

/**
 * Batch sizes an engine is built for (TensorRT optimisation profile of a dynamic batch axis), sent as
 * `profile` in a tensorrt provider request. min ≤ opt ≤ max, all ≥ 1.
 */
export interface BatchProfile {
  min: number;
  opt: number;
  max: number;
}

export interface LoadedMsg {
  type: 'loaded';
  id: number;
  model: { name: string; version: string; sha256: string };
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  provider: string;
  /** Providers tried before the active one, with why each was not used. */
  fallbacks: { name: string; reason: string }[];
  loadMs: number;
  warmupMs: number;
  /** Optional: the provider runs, but not as asked (e.g. TensorRT options ignored by the binding). */
  warnings?: string[];
}

/**
 * worker → supervisor, during a `load` / `loadDetector` (same id), before the worker starts building an
 * engine that takes minutes (TensorRT without a cached engine). The supervisor then waits for the
 * load with its build timeout instead of the load timeout, and tells systemd and the health report.
 * Additive to protocol 1: a supervisor that does not know it ignores it (a late answer is dropped).
 */
export interface BuildingMsg {
  type: 'building';
  id: number;
  /** The model being built for (manifest name). */
  model: string;
  /** The provider building, e.g. "tensorrt". */
  provider: string;
  /** Why a build is needed, e.g. "no cached engine in /var/lib/.../<key>". */
  reason: string;
}

/** supervisor → worker: body = packed RGB24 (or BGR24) pixels, width*height*3 bytes, already at model size. */
export interface InferMsg {
  type: 'infer';
  id: number;
  width: number;
  height: number;
  /** Which graph outputs to return; default: the manifest's output. */
  outputs?: string[];
  slot?: SlotRef;
}

/** worker → supervisor: body = the outputs' float32 data, concatenated in order. */
export interface ResultMsg {
  type: 'result';
  id: number;
  outputs: { name: string; dims: number[]; byteOffset: number; length: number }[];
  inferMs: number;
}

/**
 * supervisor → worker: load a face detector (a manifest with task "detect") beside the classifier.
 * Answered with `loaded` (same fields, for the detector). Additive to protocol 1: a worker that does
 * not know it answers BAD_REQUEST.
 */
export interface LoadDetectorMsg {
  type: 'loadDetector';
  id: number;
  manifestPath: string;
  executionProviders: (string | ProviderRequest)[];
  threads: number;
}

/** Tunables of one faces request; absent fields take the detector manifest's / built-in defaults. */
export interface FacesOptions {
  scoreThreshold?: number;
  iouThreshold?: number;
  /** Crop margin, a fraction of the face box's longer side added on each side (default 0.2). */
  margin?: number;
  /** At most this many faces are classified, best detector scores first (default 32). */
  maxFaces?: number;
  /** Faces smaller than this (pixels of the frame) are ignored (default 8). */
  minFaceSize?: number;
  /** Tracking (issue 14, D40): the camera's predicted tracks; only what needs it is classified. */
  tracking?: FacesTracking;
  /** Split layouts (D112): no classifier run; faces come unlabelled (with tracking, `classified` = selected). */
  detectOnly?: boolean;
  /** Split layouts (D112): no detector; classify these regions [x, y, w, h] (integers): one face each, box = crop, detScore 0. */
  crops?: [number, number, number, number][];
}

/**
 * Tracking hints of a faces request (D40). The worker detects down to `low`, associates the faces with
 * the predicted `tracks` (pipelines/tracking/select.ts: confident faces, at or above `high`, first,
 * then weak ones only to continue a track), drops weak faces that continue none, and classifies only
 * new faces and faces of tracks that need a reading; each face then says `match` and `classified`.
 */
export interface FacesTracking {
  tracks: { id: number; box: [number, number, number, number]; read: boolean; growArea: number; lost?: boolean }[];
  high: number;
  low: number;
  iou: number;
  lowIou: number;
}

/**
 * supervisor → worker: body = one frame of any size in `format` (default rgb24; see the top of this
 * file for the layouts and frameBytes() for the size). The worker resizes it for the detector,
 * detects, crops each face (margin, squared, clipped) from this frame at full resolution, resizes the
 * crops to the classifier input and classifies them (batched when the graph allows).
 */
export interface FacesMsg extends FacesOptions {
  type: 'faces';
  id: number;
  width: number;
  height: number;
  format?: FrameFormat;
  slot?: SlotRef;
}

export interface FaceResult {
  /** x, y, w, h in pixels of the request's frame (one decimal). */
  box: [number, number, number, number];
  /** The region classified: x, y, w, h (integers), margin and squaring applied, clipped. */
  crop: [number, number, number, number];
  detScore: number;
  /** The detector's own class for the face, when it has several (e.g. face / masked_face). */
  detLabel?: string;
  /** Empty ('' / 0 / {}) when `classified` is false. */
  label: string;
  score: number;
  scores: Record<string, number>;
  /** With `tracking`: the track this face continues (null: a new face), and whether it was classified. */
  match?: number | null;
  classified?: boolean;
}

/** worker → supervisor: answer to `faces` (no body). Times in ms. */
export interface FacesResultMsg {
  type: 'facesResult';
  id: number;
  faces: FaceResult[];
  /** Detector: resize + tensor, session.run, decode + NMS. */
  detectMs: number;
  /** All crops: cut + resize + tensor, then the classifier run(s). */
  cropMs: number;
  classifyMs: number;
  /** Classifier session.run calls made (1 when batched). */
  classifierRuns: number;
  inferMs: number;
}

/**
 * supervisor → worker: several frames in one request (a batch across cameras, engine.batch):
 * body = the frames' pixels one after the other, in `frames` order, each in its own `format`. The worker detects on
 * each frame and classifies the crops of all frames in one classifier run. Additive to protocol 1.
 */
export interface FacesBatchMsg extends FacesOptions {
  type: 'facesBatch';
  id: number;
  /** `tracking` and `crops`: per frame (each frame is a different camera's). */
  frames: { width: number; height: number; format?: FrameFormat; slot?: SlotRef; tracking?: FacesTracking; crops?: [number, number, number, number][] }[];
}

/** worker → supervisor: one result per frame, in order (crop/classify/infer times are the batch's). */
export interface FacesBatchResultMsg {
  type: 'facesBatchResult';
  id: number;
  results: Omit<FacesResultMsg, 'type' | 'id'>[];
}

export type PingMsg = { type: 'ping'; id: number };
export type PongMsg = { type: 'pong'; id: number; busy: boolean };
export type ShutdownMsg = { type: 'shutdown' };
export interface ErrorMsg {
  type: 'error';
  id?: number;
  code: string; // e.g. "LOAD_FAILED", "MODEL_MISMATCH", "BAD_REQUEST", "INFER_FAILED", "NOT_LOADED"
  message: string;
}

export type ToWorker = LoadMsg | LoadDetectorMsg | InferMsg | FacesMsg | FacesBatchMsg | PingMsg | ShutdownMsg;
export type FromWorker = HelloMsg | BuildingMsg | LoadedMsg | ResultMsg | FacesResultMsg | FacesBatchResultMsg | PongMsg | ErrorMsg;

/** Pack float32 outputs into one body and the matching result header fields. */
export function packOutputs(outputs: { name: string; dims: number[]; data: Float32Array }[]): { meta: ResultMsg['outputs']; body: Buffer } {
  const meta: ResultMsg['outputs'] = [];
  let offset = 0;
  for (const o of outputs) {
    meta.push({ name: o.name, dims: o.dims, byteOffset: offset, length: o.data.length });
    offset += o.data.byteLength;
  }
  const body = Buffer.allocUnsafe(offset);
  for (let i = 0; i < outputs.length; i++) {
    const d = outputs[i].data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(body, meta[i].byteOffset);
  }
  return { meta, body };
}

/** Read float32 outputs back out of a result body (copies, so the result is aligned). */
export function unpackOutputs(meta: ResultMsg['outputs'], body: Buffer): Map<string, { dims: number[]; data: Float32Array }> {
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const m of meta) {
    const bytes = m.length * 4;
    if (m.byteOffset < 0 || m.byteOffset + bytes > body.length) throw new ProtocolError(`output "${m.name}" lies outside the result body`);
    const data = new Float32Array(m.length);
    Buffer.from(data.buffer).set(body.subarray(m.byteOffset, m.byteOffset + bytes));
    out.set(m.name, { dims: m.dims, data });
  }
  return out;
}
