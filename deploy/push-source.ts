// Where `edgectl push model.onnx` gets the model's description, in this order: --manifest; --labels
// (+ --version); a manifest beside the file (<stem>.json, then model.json, naming this file); the
// labels and preprocessing in the file's ONNX metadata (+ --version). Anything missing is one line
// saying what to add.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { MANIFEST_FORMAT } from '../models/manifest.js';
import { manifestFromMetadata, manifestFromModel, modelMetadata, type PreprocessPreset } from './manifest-from-model.js';

export interface PushSourceArgs {
  manifest?: string;
  labels?: string;
  version?: string;
  name?: string;
  outputKind?: 'logits' | 'probabilities';
  preprocess?: PreprocessPreset;
}

/** A usage problem: what to type instead (the command prints it with its usage). */
export class MissingInput extends Error {}

export type ManifestSource = string | { bytes: Buffer; path: string };

/** The manifest file beside `modelPath` that describes it, or undefined. */
export async function manifestBeside(modelPath: string): Promise<string | undefined> {
  const dir = dirname(modelPath);
  const stem = basename(modelPath, extname(modelPath));
  for (const candidate of [join(dir, `${stem}.json`), join(dir, 'model.json')]) {
    if (!existsSync(candidate)) continue;
    let raw: { format?: unknown; file?: unknown };
    try {
      raw = JSON.parse(await readFile(candidate, 'utf8'));
    } catch {
      continue; // some other JSON file (or not JSON): not a manifest
    }
    if (raw?.format === MANIFEST_FORMAT && raw.file === basename(modelPath)) return candidate;
  }
  return undefined;
}

export async function pushSource(modelPath: string, a: PushSourceArgs): Promise<{ source: ManifestSource; how: string }> {
  if (a.manifest && a.labels) throw new MissingInput('push takes --manifest or --labels, not both');
  if (!existsSync(modelPath)) throw new Error(`${modelPath}: no such file`);
  const inMemory = (m: object) => ({ bytes: Buffer.from(JSON.stringify(m, null, 2)), path: join(dirname(modelPath), 'model.json') });
  if (a.manifest) return { source: a.manifest, how: `manifest ${a.manifest}` };
  if (a.labels) {
    if (!a.version) throw new MissingInput('--labels needs --version V (each pushed model needs its own version)');
    return { source: inMemory(await manifestFromModel(modelPath, a.labels, { ...a, version: a.version })), how: `labels from ${a.labels}, version ${a.version}` };
  }
  const beside = await manifestBeside(modelPath);
  if (beside) {
    const m = JSON.parse(await readFile(beside, 'utf8'));
    if (a.version && a.version !== m.version) throw new MissingInput(`${beside} says version ${m.version}, not ${a.version}: change the manifest (its version and sha256), or drop --version`);
    return { source: beside, how: `manifest beside it: ${beside}` };
  }
  const bytes = await readFile(modelPath);
  const meta = modelMetadata(modelPath, bytes);
  if (!meta.labels)
    throw new MissingInput(`${basename(modelPath)} has no manifest beside it (model.json) and no labels in its ONNX metadata: add --labels labels.txt --version V, or --manifest model.json`);
  if (!a.version) throw new MissingInput(`${basename(modelPath)} has no manifest beside it: give its version with --version V (labels ${meta.labels.join(', ')} come from its ONNX metadata)`);
  return { source: inMemory(await manifestFromMetadata(modelPath, bytes, a.version, a)), how: `ONNX metadata (labels ${meta.labels.join(', ')}), version ${a.version}` };
}
