// The engine protocol conformance suite: every engine worker (a real child process speaking
// protocol v1) must pass it. Engine-specific facts (command, model, expected outputs) come in
// through EngineUnderTest.
import type { Test } from 'tap';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { EngineWorker, type EngineError, type EngineOptions, type InferOutput } from '../../pipelines/engines/client.js';
import { modelFiles, parseManifest, type ModelEngine } from '../../models/manifest.js';
import type { FaceResult, FacesResultMsg, ProviderRequest } from '../../pipelines/engines/protocol.js';
import { rgbToI420 } from '../../pipelines/pre/yuv.js';
import { iou } from '../../models/detect.js';

export interface EngineUnderTest {
  engine: string;
  options: EngineOptions;
  runtimeVersion: RegExp;
  manifestPath: string;
  /** The bundle file the worker loads first (its hash and bytes are tampered with). */
  modelEngine: ModelEngine;
  providers: (string | ProviderRequest)[];
  provider: string;
  /** Graph I/O names the worker must report. */
  inputs: string[];
  outputs: string[];
  /** Every output that `infer(..., outputs)` can ask for together. */
  allOutputs: string[];
  /** Check a default inference of a pure red / pure blue frame. */
  checkRed: (t: Test, out: InferOutput) => void;
  checkBlue: (t: Test, out: InferOutput) => void;
}

export function frame(width: number, height: number, rgb: [number, number, number]): Buffer {
  const b = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) b.set(rgb, i * 3);
  return b;
}

/** Copy a bundle (manifest + every model file) into dir; returns the manifest JSON. */
function copyBundle(manifestPath: string, dir: string): Record<string, any> {
  const raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  for (const f of modelFiles(parseManifest(raw))) copyFileSync(join(dirname(manifestPath), f.file), join(dir, f.file));
  return raw;
}

/** The manifest with the entry for `engine` changed (primary file or one of files[]). */
function withFile(raw: Record<string, any>, engine: ModelEngine, change: Record<string, string>): Record<string, any> {
  const copy = JSON.parse(JSON.stringify(raw));
  if ((copy.engine ?? 'onnxruntime') === engine) Object.assign(copy, change);
  else Object.assign(copy.files.find((f: { engine: string }) => f.engine === engine), change);
  return copy;
}

export function conformance(t: Test, e: EngineUnderTest): void {
  const m = parseManifest(JSON.parse(readFileSync(e.manifestPath, 'utf8')));
  const { width: W, height: H } = m.input;

  async function started(t: Test, opts: EngineOptions = {}) {
    // a generous hello wait: a loaded CI host can take seconds to start Node and the runtime
    const w = new EngineWorker({ helloTimeoutMs: 60000, ...e.options, ...opts });
    t.teardown(() => w.stop(500));
    const hello = await w.start();
    return { w, hello };
  }

  t.test(`${e.engine}: handshake, load reports model I/O and the provider, inference is right`, async (t) => {
    const { w, hello } = await started(t);
    t.equal(hello.protocol, 1);
    t.equal(hello.engine, e.engine);
    t.match(hello.runtimeVersion, e.runtimeVersion);
    t.type(hello.pid, 'number');
    const loaded = await w.load(e.manifestPath, e.providers);
    t.equal(loaded.provider, e.provider);
    t.same(loaded.fallbacks, []);
    t.same(loaded.model, { name: m.name, version: m.version, sha256: m.sha256 });
    t.same(loaded.inputs.map((i) => i.name), e.inputs);
    t.same(loaded.outputs.map((o) => o.name).sort(), [...e.outputs].sort());
    t.ok(loaded.loadMs >= 0 && loaded.warmupMs >= 0);
    e.checkRed(t, await w.infer(frame(W, H, [255, 0, 0]), W, H));
    const blue = await w.infer(frame(W, H, [0, 0, 255]), W, H, e.allOutputs);
    t.same([...blue.outputs.keys()].sort(), [...e.allOutputs].sort());
    e.checkBlue(t, blue);
    t.ok(blue.inferMs >= 0);
    t.same(await w.ping(), { busy: false });
  });

  t.test(`${e.engine}: errors are answered with codes, and the worker keeps serving`, async (t) => {
    const { w } = await started(t);
    await t.rejects(w.infer(frame(W, H, [1, 2, 3]), W, H), { code: 'NOT_LOADED' });
    const dir = t.testdir({});
    const raw = copyBundle(e.manifestPath, dir);
    const file = withFile(raw, e.modelEngine, {}).file as string;
    const ref = modelFiles(parseManifest(raw)).find((f) => f.engine === e.modelEngine)!;
    // hash mismatch
    writeFileSync(join(dir, 'bad-hash.json'), JSON.stringify(withFile(raw, e.modelEngine, { sha256: '0'.repeat(64) })));
    await t.rejects(w.load(join(dir, 'bad-hash.json'), e.providers), { code: 'HASH_MISMATCH' });
    // the graph does not match the manifest: wrong size and label count
    writeFileSync(join(dir, 'mismatch.json'), JSON.stringify({ ...raw, input: { ...raw.input, width: 16, height: 16 }, labels: ['a', 'b', 'c'] }));
    const err = (await w.load(join(dir, 'mismatch.json'), e.providers).catch((x) => x)) as EngineError;
    t.equal(err.code, 'MODEL_MISMATCH');
    t.match(err.message, /shape/);
    t.match(err.message, /3 labels/);
    // random bytes in place of the model
    const junk = Buffer.from('this is not a model at all');
    writeFileSync(join(dir, `junk-${basename(ref.file)}`), junk);
    const sha = createHash('sha256').update(junk).digest('hex');
    writeFileSync(join(dir, 'junk.json'), JSON.stringify(withFile(raw, e.modelEngine, { file: `junk-${basename(ref.file)}`, sha256: sha })));
    await t.rejects(w.load(join(dir, 'junk.json'), e.providers), { code: 'LOAD_FAILED' });
    // a missing model file, a missing manifest
    writeFileSync(join(dir, 'gone.json'), JSON.stringify(withFile(raw, e.modelEngine, { file: `gone-${file}` })));
    await t.rejects(w.load(join(dir, 'gone.json'), e.providers), { code: 'MODEL_MISSING' });
    await t.rejects(w.load(join(dir, 'nope.json'), e.providers), { code: 'MANIFEST_INVALID' });
    // still serving after all that
    await w.load(e.manifestPath, e.providers);
    await t.rejects(w.infer(Buffer.alloc(10), 4, 4), { code: 'BAD_REQUEST' });
    e.checkRed(t, await w.infer(frame(W, H, [255, 0, 0]), W, H));
  });

  t.test(`${e.engine}: frames named by a shared-memory slot (D134) are read there; a slot that cannot be read is FRAME_GONE`, async (t) => {
    const { w, hello } = await started(t);
    t.equal(hello.slots, true, 'the hello says the worker reads slots');
    await w.load(e.manifestPath, e.providers);
    const dir = t.testdir({});
    const red = frame(W, H, [255, 0, 0]);
    // a slot file may be longer than its frame (a larger frame was there before): bytes says how much
    writeFileSync(join(dir, 'red'), Buffer.concat([red, Buffer.alloc(100, 7)]));
    e.checkRed(t, await w.infer({ path: join(dir, 'red'), bytes: red.length }, W, H));
    await t.rejects(w.infer({ path: join(dir, 'gone'), bytes: red.length }, W, H), { code: 'FRAME_GONE', message: /frame slot .*gone/ });
    writeFileSync(join(dir, 'short'), red.subarray(0, 10));
    await t.rejects(w.infer({ path: join(dir, 'short'), bytes: red.length }, W, H), { code: 'FRAME_GONE', message: new RegExp(`holds 10 bytes, the frame is ${red.length}`) });
    e.checkRed(t, await w.infer(red, W, H));
  });

  t.test(`${e.engine}: a killed worker fails pending requests and reports its exit`, async (t) => {
    const { w } = await started(t);
    await w.load(e.manifestPath, e.providers);
    const exited = new Promise<[number | null, string | null]>((r) => w.once('exit', (c, s) => r([c, s])));
    w.kill('SIGKILL');
    const [, signal] = await exited;
    t.equal(signal, 'SIGKILL');
    await t.rejects(w.infer(frame(W, H, [0, 0, 0]), W, H), { code: 'WORKER_EXITED' });
  });

  t.test(`${e.engine}: a hung worker times out`, async (t) => {
    const { w } = await started(t, { inferTimeoutMs: 300 });
    await w.load(e.manifestPath, e.providers);
    w.kill('SIGSTOP');
    await t.rejects(w.infer(frame(W, H, [0, 0, 0]), W, H), { code: 'TIMEOUT' });
    w.kill('SIGKILL');
  });

  t.test(`${e.engine}: a clean shutdown ends the worker with code 0`, async (t) => {
    const { w } = await started(t);
    const exited = new Promise<number | null>((r) => w.once('exit', (c) => r(c)));
    await w.stop(2000);
    t.equal(await exited, 0);
  });
}

// ---- faces: a worker's faces path against a reference worker running the same networks ----

export interface FacesEngineUnderTest {
  engine: string;
  /** A started worker with its classifier and face detector loaded. */
  start: (t: Test) => Promise<EngineWorker>;
  /** The reference: the onnxruntime worker with the same networks, loaded the same way. */
  reference: (t: Test) => Promise<EngineWorker>;
  /** Scene photos (paths). */
  scenes: string[];
}

const FACE_KEYS = ['box', 'crop', 'detScore', 'label', 'score', 'scores'];
const corners = (b: number[]) => ({ x1: b[0], y1: b[1], x2: b[0] + b[2], y2: b[1] + b[3] });
const timingsOf = (r: Omit<FacesResultMsg, 'type' | 'id'>) => [r.detectMs, r.cropMs, r.classifyMs, r.inferMs];

/**
 * The same faces: as many, each matched by a box with IoU ≥ 0.9 (best first), the same fields, label and
 * per-label scores within 0.01 (the interpreters' float sums differ in the last bits), detector score
 * within 0.01, crops within 2 px. Returns the faces compared.
 */
export function sameFaces(t: Test, what: string, got: FaceResult[], want: FaceResult[]): number {
  t.equal(got.length, want.length, `${what}: ${got.length} faces, reference ${want.length}`);
  const free = new Set(got.keys());
  let same = 0;
  for (const w of want) {
    const best = [...free].map((i) => ({ i, o: iou(corners(got[i].box), corners(w.box)) })).sort((a, b) => b.o - a.o)[0];
    if (!best || best.o < 0.9) {
      t.fail(`${what}: no face matches reference box ${w.box} (best IoU ${best?.o.toFixed(3) ?? '-'})`);
      continue;
    }
    free.delete(best.i);
    const g = got[best.i];
    const problems: string[] = [];
    if (JSON.stringify(Object.keys(g).sort()) !== JSON.stringify(Object.keys(w).sort())) problems.push(`fields ${Object.keys(g)} vs ${Object.keys(w)}`);
    if (g.label !== w.label) problems.push(`label ${g.label} vs ${w.label}`);
    for (const l of Object.keys(w.scores)) if (!(Math.abs((g.scores[l] ?? NaN) - w.scores[l]) <= 0.01)) problems.push(`p(${l}) ${g.scores[l]} vs ${w.scores[l]}`);
    if (!(Math.abs(g.detScore - w.detScore) <= 0.01)) problems.push(`detScore ${g.detScore} vs ${w.detScore}`);
    if (!g.crop.every((v, k) => Math.abs(v - w.crop[k]) <= 2)) problems.push(`crop ${g.crop} vs ${w.crop}`);
    if (problems.length) t.fail(`${what}, face at ${w.box}: ${problems.join('; ')}`);
    else same++;
  }
  return same;
}

export function facesConformance(t: Test, e: FacesEngineUnderTest): void {
  const photos = async () => Promise.all(e.scenes.map(async (file) => {
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { name: basename(file), data, i420: rgbToI420(data, info.width, info.height), width: info.width, height: info.height };
  }));

  t.test(`${e.engine}: faces on the scene photos: the reference's faces and labels, from RGB24 and I420`, async (t) => {
    const [w, ref, scenes] = await Promise.all([e.start(t), e.reference(t), photos()]);
    t.same(w.frameFormats, ['rgb24', 'i420'], 'hello lists both frame formats');
    let compared = 0, labels = new Set<string>();
    for (const p of scenes)
      for (const format of ['rgb24', 'i420'] as const) {
        const body = format === 'i420' ? p.i420 : p.data;
        const a = await w.faces(body, p.width, p.height, {}, format);
        const b = await ref.faces(body, p.width, p.height, {}, format);
        compared += sameFaces(t, `${p.name} ${format}`, a.faces, b.faces);
        b.faces.forEach((f) => labels.add(f.label));
        t.equal(a.type, 'facesResult');
        if (!timingsOf(a).every((x) => x >= 0) || !(a.classifierRuns >= (a.faces.length ? 1 : 0))) t.fail(`${p.name}: timings / runs ${JSON.stringify(a)}`);
      }
    t.ok(compared >= 40, `${compared} faces matched the reference`);
    t.same([...labels].sort(), ['mask', 'no_mask'], 'both labels occur');
  });

  t.test(`${e.engine}: facesBatch, options and the split requests (detectOnly, crops) answer as the reference`, async (t) => {
    const [w, ref, scenes] = await Promise.all([e.start(t), e.reference(t), photos()]);
    const frames = [...scenes.slice(0, 3).map((p, i) => ({ data: i === 1 ? p.i420 : p.data, width: p.width, height: p.height, format: (i === 1 ? 'i420' : 'rgb24') as 'i420' | 'rgb24' })),
      { data: frame(640, 360, [40, 40, 40]), width: 640, height: 360, format: 'rgb24' as const }];
    const [a, b] = [await w.facesBatch(frames), await ref.facesBatch(frames)];
    t.equal(a.results.length, 4);
    for (const [i, f] of frames.entries()) {
      sameFaces(t, `batch frame ${i}`, a.results[i].faces, b.results[i].faces);
      const one = await w.faces(f.data, f.width, f.height, {}, f.format);
      t.same(a.results[i].faces, one.faces, `batch frame ${i}: the same answer as alone`);
    }
    t.same(a.results[3].faces, [], 'a camera with nobody');
    const crowd = scenes.reduce((x, y) => (x.data.length > y.data.length ? x : y));
    for (const o of [{ maxFaces: 2 }, { minFaceSize: 40 }, { scoreThreshold: 0.9 }, { margin: 0 }])
      sameFaces(t, `${crowd.name} ${JSON.stringify(o)}`, (await w.faces(crowd.data, crowd.width, crowd.height, o)).faces, (await ref.faces(crowd.data, crowd.width, crowd.height, o)).faces);
    const full = await w.faces(crowd.i420, crowd.width, crowd.height, {}, 'i420');
    const det = await w.faces(crowd.i420, crowd.width, crowd.height, { detectOnly: true }, 'i420');
    t.same(det.faces.map((f) => [f.box, f.crop, f.label, f.score, f.scores]), full.faces.map((f) => [f.box, f.crop, '', 0, {}]), 'detectOnly: the same faces, unlabelled');
    t.equal(det.classifierRuns, 0);
    const crops = full.faces.map((f) => f.crop);
    const cls = await w.faces(crowd.i420, crowd.width, crowd.height, { crops }, 'i420');
    t.same(cls.faces.map((f) => [f.box, f.crop, f.detScore, f.label, f.scores]), full.faces.map((f) => [f.crop, f.crop, 0, f.label, f.scores]), 'crops: the same labels, no detector');
    sameFaces(t, 'crops vs reference', cls.faces, (await ref.faces(crowd.i420, crowd.width, crowd.height, { crops }, 'i420')).faces);
  });

  t.test(`${e.engine}: bad faces requests get the reference's codes and messages, and the worker keeps serving`, async (t) => {
    const [w, ref] = await Promise.all([e.start(t), e.reference(t)]);
    const f64 = frame(64, 64, [0, 0, 0]);
    const bad: [string, (x: EngineWorker) => Promise<unknown>][] = [
      ['short body', (x) => x.faces(Buffer.alloc(100), 640, 360)],
      ['tiny frame', (x) => x.faces(Buffer.alloc(12), 2, 2)],
      ['short I420', (x) => x.faces(Buffer.alloc(100), 64, 64, {}, 'i420')],
      ['scoreThreshold', (x) => x.faces(f64, 64, 64, { scoreThreshold: 1.5 })],
      ['maxFaces', (x) => x.faces(f64, 64, 64, { maxFaces: 0 })],
      ['minFaceSize', (x) => x.faces(f64, 64, 64, { minFaceSize: 0 })],
      ['crops outside', (x) => x.faces(f64, 64, 64, { crops: [[0, 0, 65, 1]] })],
      ['empty batch', (x) => x.facesBatch([])],
      ['short batch frame', (x) => x.facesBatch([{ data: Buffer.alloc(10), width: 64, height: 64 }])],
    ];
    for (const [what, call] of bad) {
      const [ga, gb] = [await call(w).then(() => null, (x) => x as EngineError), await call(ref).then(() => null, (x) => x as EngineError)];
      t.same({ code: ga?.code, message: ga?.message }, { code: gb?.code, message: gb?.message }, what);
      t.equal(gb?.code, 'BAD_REQUEST', `${what}: refused`);
    }
    t.same((await w.faces(f64, 64, 64)).faces, [], 'still serving');
  });
}
