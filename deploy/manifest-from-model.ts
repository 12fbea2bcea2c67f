// `edgectl push model.onnx --labels labels.txt`: write the manifest from the graph itself.
// The input name, layout and size and the output come from onnxruntime's view of the model; the
// preprocessing is a named preset (MobileNet's x/127.5 − 1 by default); the version is required.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { openCpuSession } from './cpu-session.js';
import { MANIFEST_FORMAT, parseManifest, type ColorOrder, type GraphIO, type Manifest, type Preprocess, type Resize } from '../models/manifest.js';
import { parseMetadata, readMetadataProps } from '../models/onnx-metadata.js';

export const PREPROCESS_PRESETS = {
  mobilenet: { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  imagenet: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  unit: { scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
} as const;
export type PreprocessPreset = keyof typeof PREPROCESS_PRESETS;

export interface FromModelOptions {
  version: string;
  name?: string;
  outputKind?: 'logits' | 'probabilities';
  preprocess?: PreprocessPreset;
  /** Exact preprocessing (from the model's ONNX metadata); wins over the preset. */
  preprocessValues?: Preprocess;
  colorOrder?: ColorOrder;
  resize?: Resize;
}

/** Labels file: one label per line; blank lines and # comments ignored. */
export function parseLabels(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** The manifest for a classifier graph and its labels (pure: the graph's I/O is passed in). */
export function manifestFor(io: GraphIO, labels: string[], sha256: string, file: string, o: FromModelOptions): Manifest {
  if (o.preprocess && !(o.preprocess in PREPROCESS_PRESETS)) throw new Error(`unknown --preprocess "${o.preprocess}" (${Object.keys(PREPROCESS_PRESETS).join(', ')})`);
  const inp = io.inputs[0];
  if (!inp) throw new Error('the model has no inputs');
  const s = inp.shape;
  const num = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : null);
  let layout: 'NCHW' | 'NHWC';
  let h: number | null, w: number | null;
  if (s.length === 4 && s[1] === 3) [layout, h, w] = ['NCHW', num(s[2]), num(s[3])];
  else if (s.length === 4 && s[3] === 3) [layout, h, w] = ['NHWC', num(s[1]), num(s[2])];
  else throw new Error(`input "${inp.name}" has shape [${s.join(', ')}]: expected [batch, 3, H, W] or [batch, H, W, 3]`);
  if (!h || !w) throw new Error(`input "${inp.name}" has no fixed height and width ([${s.join(', ')}]): write a manifest and use --manifest`);
  const out = io.outputs.find((x) => x.shape.at(-1) === labels.length);
  if (!out)
    throw new Error(`no output has ${labels.length} values for the ${labels.length} labels (outputs: ${io.outputs.map((x) => `${x.name} [${x.shape.join(', ')}]`).join(', ')})`);
  const name = o.name ?? basename(file, extname(file)).replace(/[^A-Za-z0-9._-]/g, '-');
  const raw = {
    format: MANIFEST_FORMAT, name, version: o.version, task: 'classify', file, sha256,
    input: { name: inp.name, layout, width: w, height: h, colorOrder: o.colorOrder ?? 'RGB', resize: o.resize ?? 'letterbox', padColor: [0, 0, 0] },
    preprocess: o.preprocessValues ?? PREPROCESS_PRESETS[o.preprocess ?? 'mobilenet'],
    output: { name: out.name, kind: o.outputKind ?? 'logits' },
    labels,
  };
  return parseManifest(raw, `${file} + labels`);
}

export async function manifestFromModel(modelPath: string, labelsPath: string, o: FromModelOptions): Promise<Manifest> {
  const [bytes, labelsText] = await Promise.all([readFile(modelPath), readFile(labelsPath, 'utf8')]);
  const labels = parseLabels(labelsText);
  if (!labels.length) throw new Error(`${labelsPath} has no labels`);
  return manifestForBytes(modelPath, bytes, labels, o);
}

/** The model's own description in its ONNX metadata (models/onnx-metadata.ts); {} when it has none. Throws on bytes that are not ONNX. */
export function modelMetadata(modelPath: string, bytes: Uint8Array) {
  try {
    return parseMetadata(readMetadataProps(bytes));
  } catch (e) {
    throw new Error(`${modelPath}: ${(e as Error).message.startsWith('ONNX metadata') ? '' : 'not an ONNX model: '}${(e as Error).message}`);
  }
}

/** The manifest from the graph and the labels / preprocessing its ONNX metadata carries (the training recipes write them). */
export async function manifestFromMetadata(modelPath: string, bytes: Buffer, version: string, o: Partial<FromModelOptions> = {}): Promise<Manifest> {
  const meta = modelMetadata(modelPath, bytes);
  if (!meta.labels) throw new Error(`${modelPath} has no labels in its ONNX metadata`);
  return manifestForBytes(modelPath, bytes, meta.labels, { ...o, version, name: o.name ?? meta.name, outputKind: o.outputKind ?? meta.outputKind, preprocessValues: o.preprocess ? undefined : meta.preprocess, colorOrder: meta.colorOrder, resize: meta.resize });
}

async function manifestForBytes(modelPath: string, bytes: Buffer, labels: string[], o: FromModelOptions): Promise<Manifest> {
  const { session, io } = await openCpuSession(bytes).catch((e) => {
    throw new Error(`${modelPath} is not a model onnxruntime can load: ${(e as Error).message.split('\n')[0]}`);
  });
  await session.release();
  return manifestFor(io, labels, createHash('sha256').update(bytes).digest('hex'), basename(modelPath), o);
}
