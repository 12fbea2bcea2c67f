// edgectl train: adapt a classifier to a site. Frozen base up to its pooled features, a new linear
// head trained here on the CPU, written back as one ONNX graph + manifest (an ordinary bundle).
import { openCpuSession } from './cpu-session.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { parseManifest, type Manifest } from '../models/manifest.js';
import { readModel } from '../models/model-file.js';
import { toTensor } from '../models/preprocess.js';
import { variants, type Variant } from '../models/augment.js';
import { classWeights, headLogits, stratifiedSplit, trainHead, type EpochInfo, type Head } from '../models/head.js';
import { replaceHead } from '../models/onnx-head.js';
import { fitTemperature, nll, scaleHead } from '../models/calibrate.js';
import { metadataProps, withMetadataProps } from '../models/onnx-metadata.js';

const IMAGE = /\.(jpe?g|png|webp)$/i;
const LABEL = /^[A-Za-z0-9_-]{1,64}$/;

export interface TrainArgs {
  data: string;
  base: string;
  out: string;
  labels?: string[];
  minPerClass: number;
  seed: number;
  epochs: number;
  patience: number;
  lr: number;
  l2: number;
  heldOut: number;
  version?: string;
  name?: string;
  onEpoch?: (e: EpochInfo, total: number) => void;
  log?: (l: string) => void;
}

export interface Sample {
  file: string;
  label: number;
}

/** The labelled images of `data/<label>/`; `unlabelled/` and non-label folders are skipped. Refuses thin classes. */
export async function listDataset(data: string, labels: string[] | undefined, minPerClass: number): Promise<{ labels: string[]; samples: Sample[] }> {
  const dirs = (await readdir(data, { withFileTypes: true })).filter((d) => d.isDirectory() && d.name !== 'unlabelled' && LABEL.test(d.name)).map((d) => d.name).sort();
  const chosen = labels ?? dirs;
  if (chosen.length < 2) throw new Error(`${data} needs at least two class folders (found: ${dirs.join(', ') || 'none'})`);
  const missing = chosen.filter((l) => !dirs.includes(l));
  if (missing.length) throw new Error(`--labels names folders that are not in ${data}: ${missing.join(', ')}`);
  const samples: Sample[] = [];
  const thin: string[] = [];
  for (const [i, l] of chosen.entries()) {
    const files = (await readdir(join(data, l))).filter((f) => IMAGE.test(f)).sort();
    if (files.length < minPerClass) thin.push(`${l}/ has ${files.length}`);
    for (const f of files) samples.push({ file: join(data, l, f), label: i });
  }
  if (thin.length) throw new Error(`too few images to train: ${thin.join(', ')}; every class needs at least ${minPerClass} (--min-per-class)`);
  return { labels: chosen, samples };
}

/** Decode, apply a variant (crop, mirror), letterbox to the model input: packed RGB. */
async function variantPixels(file: string, v: Variant, m: Manifest): Promise<Buffer> {
  const { width, height, padColor } = m.input;
  let img = sharp(file).rotate().removeAlpha().toColourspace('srgb');
  if (v.crop) img = sharp(await img.extract(v.crop).toBuffer());
  if (v.flip) img = img.flop();
  const fit = m.input.resize === 'stretch' ? 'fill' : 'contain';
  return img.resize(width, height, { fit, background: { r: padColor[0], g: padColor[1], b: padColor[2] }, kernel: 'linear' }).raw().toBuffer();
}

/** Base-model embeddings, cached on disk by (model sha256, image sha256, variant id). */
export class Embedder {
  private cache = new Map<string, Float32Array>();
  private dirty = false;
  hits = 0;
  misses = 0;
  private constructor(
    private session: ort.InferenceSession,
    readonly manifest: Manifest,
    private modelSha: string,
    private cacheFile: string,
  ) {}
  static async open(basePath: string, cacheFile: string): Promise<Embedder> {
    const { manifest, bytes, sha256 } = await readModel(basePath);
    if (!manifest.features) throw new Error(`${basePath} names no "features" tensor: its head cannot be retrained`);
    const { session } = await openCpuSession(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const e = new Embedder(session, manifest, sha256, cacheFile);
    if (existsSync(cacheFile)) for (const [k, v] of Object.entries(JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, string>)) e.cache.set(k, new Float32Array(new Uint8Array(Buffer.from(v, 'base64')).buffer));
    return e;
  }
  async embed(file: string, v: Variant): Promise<Float32Array> {
    try {
      return await this.embedOne(file, v);
    } catch (e) {
      throw new Error(`${file} is not a readable image: ${(e as Error).message}`);
    }
  }
  private async embedOne(file: string, v: Variant): Promise<Float32Array> {
    const key = `${this.modelSha.slice(0, 16)}:${createHash('sha256').update(await readFile(file)).digest('hex')}:${v.id}`;
    const hit = this.cache.get(key);
    if (hit) return this.hits++, hit;
    this.misses++;
    const m = this.manifest;
    const t = toTensor(await variantPixels(file, v, m), m.input, m.preprocess);
    const out = await this.session.run({ [m.input.name]: new ort.Tensor('float32', t, [1, 3, m.input.height, m.input.width]) }, [m.features!]);
    const f = Float32Array.from(out[m.features!].data as Float32Array);
    this.cache.set(key, f);
    this.dirty = true;
    return f;
  }
  async close(): Promise<void> {
    if (this.dirty) await writeFile(this.cacheFile, JSON.stringify(Object.fromEntries([...this.cache].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')]))));
    await this.session.release();
  }
}

const bump = (v: string) => {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? `${m[1]}.${Number(m[2]) + 1}.0` : `${v}-adapted`;
};

export async function train(a: TrainArgs) {
  const log = a.log ?? (() => {});
  const { labels, samples } = await listDataset(a.data, a.labels, a.minPerClass);
  await mkdir(a.out, { recursive: true });
  const emb = await Embedder.open(a.base, join(a.out, 'embeddings-cache.json'));
  const base = emb.manifest;
  const split = stratifiedSplit(samples.map((s) => s.label), a.seed, a.heldOut);
  log(`${samples.length} images, ${labels.length} classes (${labels.join(', ')}); train ${split.train.length}, val ${split.val.length} (early stopping), held-out ${split.test.length} (eval only)`);
  const x: Float32Array[] = [], y: number[] = [];
  const unknown = labels.filter((l) => !base.labels.includes(l));
  if (unknown.length)
    log(`note: ${unknown.map((l) => `${l}/`).join(', ')} ${unknown.length > 1 ? 'are not labels' : 'is not a label'} of the base model ${base.name} (${base.labels.join(', ')}): the adapted model gets ${unknown.length > 1 ? 'them as new labels' : 'it as a new label'}; check the folder name${unknown.length > 1 ? 's' : ''} if that was not meant (--labels picks folders)`);
  for (const i of split.train) {
    const { width, height } = await sharp(samples[i].file).metadata().catch((e: Error) => {
      throw new Error(`${samples[i].file} is not a readable image: ${e.message}`);
    });
    for (const v of variants(width ?? 1, height ?? 1, { crops: 4, keep: 0.88 })) x.push(await emb.embed(samples[i].file, v)), y.push(samples[i].label);
  }
  const orig = { id: 'orig', flip: false };
  const vx = await Promise.all(split.val.map((i) => emb.embed(samples[i].file, orig)));
  const vy = split.val.map((i) => samples[i].label);
  log(`embeddings: ${emb.misses} computed, ${emb.hits} from the cache (${x.length} augmented training vectors)`);
  const weights = classWeights(y, labels.length);
  const r = trainHead(x, y, vx, vy, { classes: labels.length, epochs: a.epochs, lr: a.lr, l2: a.l2, patience: a.patience, weights }, (e) => a.onEpoch?.(e, a.epochs));
  // Calibration: one temperature fitted on the early-stopping slice (the held-out slice stays for eval only)
  const valLogits = vx.map((f) => headLogits(r.head, f));
  const temperature = fitTemperature(valLogits, vy);
  const head = scaleHead(r.head, temperature);
  log(`calibration: temperature ${temperature.toFixed(3)} on the ${vx.length} val images (NLL ${nll(valLogits, vy, 1).toFixed(4)} → ${nll(valLogits, vy, temperature).toFixed(4)})`);
  const { bytes: baseBytes, sha256: baseSha } = await readModel(a.base);
  const adapted = replaceHead(baseBytes, { head, output: base.output.name, features: base.features!, producer: 'mobilenet-edge edgectl train' });
  // labels and preprocessing in the ONNX metadata too: `edgectl push model.onnx` works without model.json
  const meta = metadataProps({ labels, preprocess: base.preprocess, outputKind: 'logits', colorOrder: base.input.colorOrder, resize: base.input.resize, name: a.name ?? `${base.name}-site` });
  const model = Buffer.from(withMetadataProps(adapted, meta));
  const check = await verifyAdapted(baseBytes, model, base, head);
  await emb.close();
  const rel = (i: number) => relative(a.data, samples[i].file);
  const manifest = parseManifest({
    ...base,
    name: a.name ?? `${base.name}-site`,
    version: a.version ?? bump(base.version),
    file: 'model.onnx',
    sha256: createHash('sha256').update(model).digest('hex'),
    output: { name: base.output.name, kind: 'logits' },
    labels,
    features: base.features,
    engine: undefined,
    files: undefined,
    tests: undefined,
    decision: undefined, // the base's operating point was chosen for the base's head and classes
    training: {
      recipe: 'edgectl train (frozen base, linear softmax head)',
      base: { name: base.name, version: base.version, sha256: baseSha },
      seed: a.seed,
      images: Object.fromEntries(labels.map((l, k) => [l, samples.filter((s) => s.label === k).length])),
      split: { train: split.train.length, val: split.val.length, heldOut: split.test.length },
      augmentation: 'original, mirror, 4 corner crops keeping 88 % of each side',
      trainVectors: x.length,
      classWeights: weights.map((w) => +w.toFixed(4)),
      epochs: r.epochsRun,
      bestEpoch: r.bestEpoch,
      stoppedEarly: r.stoppedEarly,
      valAccuracy: +(r.history[r.bestEpoch - 1]?.valAccuracy ?? 0).toFixed(4),
      temperature: +temperature.toFixed(4),
      featuresMaxAbsDiff: check.featuresMaxAbsDiff,
      date: new Date().toISOString().slice(0, 10),
    },
  });
  const clean = JSON.parse(JSON.stringify(manifest));
  await writeFile(join(a.out, 'model.onnx'), model);
  await writeFile(join(a.out, 'model.json'), JSON.stringify(clean, null, 2) + '\n');
  await writeFile(join(a.out, 'split.json'), JSON.stringify({ data: a.data, seed: a.seed, labels, train: split.train.map(rel), val: split.val.map(rel), heldOut: split.test.map(rel) }, null, 2) + '\n');
  return { manifest: clean as Manifest, result: r, check, split, temperature, unknownLabels: unknown };
}

/**
 * Load the written graph in onnxruntime and compare it with the base: features identical up to
 * float tolerance, logits equal to the head applied in JS.
 */
export async function verifyAdapted(baseBytes: Uint8Array, adapted: Uint8Array, m: Manifest, head: Head) {
  // random inputs in the model's value range, batch 4
  const [{ session: s0 }, { session: s1 }] = await Promise.all([openCpuSession(baseBytes, { intraOpNumThreads: 1 }), openCpuSession(adapted, { intraOpNumThreads: 1 })]);
  const n = 4, size = 3 * m.input.width * m.input.height;
  const t = new Float32Array(n * size);
  let seed = 12345;
  for (let i = 0; i < t.length; i++) t[i] = ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const feed = { [m.input.name]: new ort.Tensor('float32', t, [n, 3, m.input.height, m.input.width]) };
  const [a, b] = await Promise.all([s0.run(feed, [m.features!]), s1.run(feed, [m.features!, m.output.name])]);
  const fa = a[m.features!].data as Float32Array, fb = b[m.features!].data as Float32Array, lb = b[m.output.name].data as Float32Array;
  let featuresMaxAbsDiff = 0, logitsMaxAbsDiff = 0;
  for (let i = 0; i < fa.length; i++) featuresMaxAbsDiff = Math.max(featuresMaxAbsDiff, Math.abs(fa[i] - fb[i]));
  for (let r = 0; r < n; r++) {
    const want = headLogits(head, fb.subarray(r * head.dim, (r + 1) * head.dim));
    want.forEach((w, k) => (logitsMaxAbsDiff = Math.max(logitsMaxAbsDiff, Math.abs(w - lb[r * head.classes + k]))));
  }
  await Promise.all([s0.release(), s1.release()]);
  if (featuresMaxAbsDiff > 1e-5) throw new Error(`the written model changes the base features (max |Δ| ${featuresMaxAbsDiff})`);
  if (logitsMaxAbsDiff > 1e-3) throw new Error(`the written head's logits differ from the trained head (max |Δ| ${logitsMaxAbsDiff})`);
  return { featuresMaxAbsDiff, logitsMaxAbsDiff };
}
