// The onnxruntime engine worker: a child process of the supervisor speaking the engine protocol
// over stdio. Native crashes and hangs stay in this process.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { ort } from './ort.js';
import type { Manifest } from '../../../models/manifest.js';
import { inputShape } from '../../../models/manifest.js';
import { toTensor } from '../../../models/preprocess.js';
import { readModel, ModelFileError } from '../../../models/model-file.js';
import { PROTOCOL_VERSION, frameBytes, packOutputs, type FacesBatchMsg, type FacesMsg, type InferMsg, type LoadDetectorMsg, type LoadMsg, type Message } from '../protocol.js';
import { serveStdio } from '../stdio-channel.js';
import { SlotBuffers, slotProblem, type SlotRef } from '../slots.js';
import { openSession, ModelMismatchError, runtimeVersion } from './session.js';
import { cropsProblem, facesRequestProblem, trackingProblem, runFaces, runFacesBatch, type FacesFrame, type Loaded } from './faces.js';

let active: { session: InferenceSession; manifest: Manifest; tensor: Float32Array } | null = null;
let detector: Loaded | null = null;
let busy = false;

const send = serveStdio(async (m: Message) => {
  const h = m.header;
  try {
    switch (h.type) {
      case 'load':
        return await load(h as unknown as LoadMsg);
      case 'loadDetector':
        return await loadDetector(h as unknown as LoadDetectorMsg);
      case 'infer':
        return await withSlots(h, m.body, (body) => infer(h as unknown as InferMsg, body));
      case 'faces':
        return await withSlots(h, m.body, (body) => faces(h as unknown as FacesMsg, body));
      case 'facesBatch':
        return await withSlots(h, m.body, (body, parts) => facesBatch(h as unknown as FacesBatchMsg, body, parts));
      case 'ping':
        return send({ type: 'pong', id: h.id as number, busy });
      case 'shutdown':
        await active?.session.release().catch(() => undefined);
        await detector?.session.release().catch(() => undefined);
        process.exit(0);
      default:
        return send({ type: 'error', id: h.id as number | undefined, code: 'BAD_REQUEST', message: `unknown message type "${h.type}"` });
    }
  } catch (e) {
    const code = e instanceof ModelFileError ? e.code : e instanceof ModelMismatchError ? 'MODEL_MISMATCH' : h.type === 'load' || h.type === 'loadDetector' ? 'LOAD_FAILED' : 'INFER_FAILED';
    send({ type: 'error', id: h.id as number | undefined, code, message: (e as Error).message });
  }
});

const slotBuffers = new SlotBuffers();

/**
 * A request whose frames are in shared-memory slots (D134: `slot` in the header, or in each of a
 * batch's frames): the frames are read from their slots into the body the handler sees, in order.
 * Requests with a body pass through. A slot that cannot be read is the request's error.
 */
async function withSlots(h: Message['header'], body: Buffer, handle: (body: Buffer, parts?: Buffer[]) => Promise<void>): Promise<void> {
  const refs = (Array.isArray(h.frames) ? (h.frames as { slot?: SlotRef }[]).map((f) => f?.slot) : [h.slot as SlotRef | undefined]).filter((s) => s !== undefined);
  if (!refs.length) return handle(body);
  if (Array.isArray(h.frames) && refs.length !== h.frames.length) return send({ type: 'error', id: h.id as number | undefined, code: 'BAD_REQUEST', message: 'every frame of a batch names its slot, or none does' });
  const problem = refs.map(slotProblem).find((p) => p !== null);
  if (problem || body.length) return send({ type: 'error', id: h.id as number | undefined, code: 'BAD_REQUEST', message: problem ?? 'a request names its frames by slot or carries them, not both' });
  const parts: Buffer[] = [];
  try {
    for (const r of refs) parts.push(slotBuffers.read(r));
  } catch (e) {
    parts.forEach((b) => slotBuffers.give(b));
    return send({ type: 'error', id: h.id as number | undefined, code: 'FRAME_GONE', message: (e as Error).message });
  }
  try {
    await handle(parts[0], parts);
  } finally {
    parts.forEach((b) => slotBuffers.give(b));
  }
}

/** The `loaded` answer: model identity, graph I/O, the provider that runs and why others did not. */
function loadedReply(id: number, manifest: Manifest, opened: Awaited<ReturnType<typeof openSession>>, t0: number) {
  return {
    type: 'loaded',
    id,
    model: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 },
    inputs: opened.inputs,
    outputs: opened.outputs,
    provider: opened.provider,
    fallbacks: opened.fallbacks,
    loadMs: performance.now() - t0,
    warmupMs: opened.warmupMs,
    ...(opened.warnings.length ? { warnings: opened.warnings } : {}),
  };
}

/** Tell the supervisor that this load now builds an engine (it waits longer and tells systemd). */
const building = (id: number, model: string) => (provider: string, reason: string) => send({ type: 'building', id, model, provider, reason });

async function load(msg: LoadMsg): Promise<void> {
  const t0 = performance.now();
  const { manifest, bytes } = await readModel(msg.manifestPath);
  await testSlowLoad(msg.id, manifest.name);
  const opened = await openSession(bytes, manifest, msg.executionProviders, msg.threads, building(msg.id, manifest.name));
  const previous = active;
  active = { session: opened.session, manifest, tensor: new Float32Array(inputShape(manifest).reduce((a, b) => a * b, 1)) };
  await previous?.session.release().catch(() => undefined);
  send(loadedReply(msg.id, manifest, opened, t0));
}

async function loadDetector(msg: LoadDetectorMsg): Promise<void> {
  const t0 = performance.now();
  const { manifest, bytes } = await readModel(msg.manifestPath);
  if (manifest.task !== 'detect' || !manifest.detect)
    return send({ type: 'error', id: msg.id, code: 'MANIFEST_INVALID', message: `${msg.manifestPath} is a "${manifest.task}" model, not a detector (task "detect")` });
  const opened = await openSession(bytes, manifest, msg.executionProviders, msg.threads, building(msg.id, manifest.name));
  const previous = detector;
  detector = { session: opened.session, manifest };
  await previous?.session.release().catch(() => undefined);
  send(loadedReply(msg.id, manifest, opened, t0));
}

/**
 * The detector and classifier a faces request needs (split layouts, D112: no detector for a request that
 * gives its crops, no classifier for detectOnly); when they are not there (or an injected error is due)
 * the request is answered here and null comes back.
 */
function facesModels(id: number, needsDetector = true, needsClassifier = true): { det: Loaded | null; cls: Loaded | null } | null {
  if (injected(id)) return null;
  if ((needsClassifier && !active) || (needsDetector && !detector)) {
    send({ type: 'error', id, code: 'NOT_LOADED', message: needsClassifier && !active ? 'no classifier is loaded' : 'no detector is loaded (send loadDetector first)' });
    return null;
  }
  if (needsClassifier && active!.manifest.task !== 'classify') {
    send({ type: 'error', id, code: 'BAD_REQUEST', message: 'the loaded model is not a classifier' });
    return null;
  }
  return { det: needsDetector ? detector : null, cls: needsClassifier && active ? { session: active.session, manifest: active.manifest } : null };
}

async function faces(msg: FacesMsg, body: Buffer): Promise<void> {
  const m = facesModels(msg.id, msg.crops === undefined, !msg.detectOnly);
  if (!m) return;
  const format = msg.format ?? 'rgb24';
  const problem = facesRequestProblem(msg.width, msg.height, body.length, msg, format) ?? trackingProblem(msg.tracking) ?? cropsProblem(msg.crops, msg.width, msg.height);
  if (problem) return send({ type: 'error', id: msg.id, code: 'BAD_REQUEST', message: problem });
  busy = true;
  try {
    const r = await runFaces(m.det, m.cls, body, msg.width, msg.height, msg, format);
    send({ type: 'facesResult', id: msg.id, ...r });
  } finally {
    busy = false;
  }
}

/** Up to this many frames in one facesBatch request. */
const MAX_BATCH_FRAMES = 64;

/** `parts`: each frame's pixels apart (read from slots), else they follow each other in `body`. */
async function facesBatch(msg: FacesBatchMsg, body: Buffer, parts?: Buffer[]): Promise<void> {
  const sizes = Array.isArray(msg.frames) ? msg.frames : [];
  const m = facesModels(msg.id, sizes.some((f) => f?.crops === undefined), !msg.detectOnly);
  if (!m) return;
  if (sizes.length < 1 || sizes.length > MAX_BATCH_FRAMES) return send({ type: 'error', id: msg.id, code: 'BAD_REQUEST', message: `a batch has 1..${MAX_BATCH_FRAMES} frames (got ${sizes.length})` });
  const frames: FacesFrame[] = [];
  let off = 0;
  for (const [i, f] of sizes.entries()) {
    const format = f.format ?? 'rgb24';
    const bytes = format === 'i420' || format === 'rgb24' ? frameBytes(format, f.width, f.height) : 0;
    const data = parts ? parts[i] : body.subarray(off, off + bytes);
    const problem = facesRequestProblem(f.width, f.height, parts ? data.length : Math.min(bytes, body.length - off), msg, format);
    if (problem) return send({ type: 'error', id: msg.id, code: 'BAD_REQUEST', message: `frame ${i}: ${problem}` });
    const tp = trackingProblem(f.tracking) ?? cropsProblem(f.crops, f.width, f.height);
    if (tp) return send({ type: 'error', id: msg.id, code: 'BAD_REQUEST', message: `frame ${i}: ${tp}` });
    frames.push({ data, width: f.width, height: f.height, format, ...(f.tracking ? { tracking: f.tracking } : {}), ...(f.crops ? { crops: f.crops } : {}) });
    off += bytes;
  }
  if (!parts && off !== body.length) return send({ type: 'error', id: msg.id, code: 'BAD_REQUEST', message: `the body has ${body.length} bytes, the frames take ${off}` });
  busy = true;
  try {
    send({ type: 'facesBatchResult', id: msg.id, results: await runFacesBatch(m.det, m.cls, frames, msg) });
  } finally {
    busy = false;
  }
}

// For the fault-injection tests only: with MOBILENET_EDGE_TEST_HOOKS containing engine-errors,
// SIGUSR2 makes the next MOBILENET_EDGE_TEST_ERRORS (default 100) inferences answer INFER_FAILED —
// an engine that runs but returns errors. Never set it in production.
let injectedErrors = 0;
if ((process.env.MOBILENET_EDGE_TEST_HOOKS ?? '').split(',').includes('engine-errors')) {
  process.stderr.write('engine worker: TEST HOOK enabled: SIGUSR2 injects inference errors\n');
  process.on('SIGUSR2', () => (injectedErrors = Number(process.env.MOBILENET_EDGE_TEST_ERRORS ?? 100)));
}

// For the first-start tests only: with MOBILENET_EDGE_TEST_HOOKS containing slow-build, every classifier
// load first says it builds a TensorRT engine (a `building` message) and then sleeps
// MOBILENET_EDGE_TEST_LOAD_MS (default 5000) before loading as usual: a long engine build, on a machine
// without TensorRT. slow-load sleeps the same without saying so (a load that hangs). Never set in production.
const hooks = (process.env.MOBILENET_EDGE_TEST_HOOKS ?? '').split(',');
async function testSlowLoad(id: number, model: string): Promise<void> {
  const say = hooks.includes('slow-build');
  if (!say && !hooks.includes('slow-load')) return;
  const ms = Number(process.env.MOBILENET_EDGE_TEST_LOAD_MS ?? 5000);
  process.stderr.write(`engine worker: TEST HOOK: load of ${model} sleeps ${ms} ms${say ? ' (announced as a TensorRT engine build)' : ''}\n`);
  if (say) building(id, model)('tensorrt', 'TEST HOOK slow-build: pretending to build an engine');
  await new Promise((r) => setTimeout(r, ms));
}

/** The test hook's injected error, if one is due (answered here). */
function injected(id: number): boolean {
  if (injectedErrors <= 0) return false;
  injectedErrors--;
  send({ type: 'error', id, code: 'INFER_FAILED', message: 'TEST HOOK: injected inference error' });
  return true;
}

async function infer(msg: InferMsg, body: Buffer): Promise<void> {
  if (injected(msg.id)) return;
  if (!active) return send({ type: 'error', id: msg.id, code: 'NOT_LOADED', message: 'no model is loaded' });
  const { manifest, session } = active;
  if (msg.width !== manifest.input.width || msg.height !== manifest.input.height)
    return send({ type: 'error', id: msg.id, code: 'BAD_REQUEST', message: `frame is ${msg.width}x${msg.height}, the model takes ${manifest.input.width}x${manifest.input.height}` });
  busy = true;
  try {
    const t0 = performance.now();
    const data = toTensor(body, manifest.input, manifest.preprocess, active.tensor);
    const fetches = msg.outputs?.length ? msg.outputs : [manifest.output.name];
    const results = await session.run({ [manifest.input.name]: new ort.Tensor('float32', data, inputShape(manifest)) }, fetches);
    const outs = fetches.map((name) => {
      const t = results[name] as OrtTensor;
      return { name, dims: [...t.dims], data: t.data as Float32Array };
    });
    const { meta, body: out } = packOutputs(outs);
    send({ type: 'result', id: msg.id, outputs: meta, inferMs: performance.now() - t0 }, out);
  } finally {
    busy = false;
  }
}

// Ctrl-C in a terminal signals the whole process group: the supervisor decides when this worker
// stops (shutdown message, or stdin closing), so SIGINT is ignored here.
process.on('SIGINT', () => undefined);

send({ type: 'hello', protocol: PROTOCOL_VERSION, engine: 'onnxruntime', runtimeVersion: runtimeVersion(), pid: process.pid, frameFormats: ['rgb24', 'i420'], slots: true });
