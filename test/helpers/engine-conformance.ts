// The engine protocol conformance suite: every engine worker (a real child process speaking
// protocol v1) must pass it. Engine-specific facts (command, model, expected outputs) come in
// through EngineUnderTest.
import type { Test } from 'tap';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { EngineWorker, type EngineError, type EngineOptions, type InferOutput } from '../../pipelines/engines/client.js';
import { modelFiles, parseManifest, type ModelEngine } from '../../models/manifest.js';
import type { ProviderRequest } from '../../pipelines/engines/protocol.js';

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
    const w = new EngineWorker({ ...e.options, ...opts });
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
