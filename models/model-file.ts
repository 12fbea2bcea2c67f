// Read a manifest and its model file, checking the file's sha256 (engine workers, edgectl).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { modelFileFor, type Manifest, type ModelEngine } from './manifest.js';
import { readManifest } from './manifest-file.js';
import { CodedError } from './coded-error.js';

export class ModelFileError extends CodedError<'MANIFEST_INVALID' | 'MODEL_MISSING' | 'HASH_MISMATCH'> {}

/** Read the bundle's file for `engine` (default: the ONNX file) and check its sha256. */
export async function readModel(manifestPath: string, engine: ModelEngine = 'onnxruntime'): Promise<{ manifest: Manifest; bytes: Buffer; modelPath: string; sha256: string }> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(manifestPath);
  } catch (e) {
    throw new ModelFileError('MANIFEST_INVALID', (e as Error).message);
  }
  const ref = modelFileFor(manifest, engine);
  if (!ref) throw new ModelFileError('MODEL_MISSING', `${manifestPath} names no model file for engine ${engine}`);
  const modelPath = join(dirname(manifestPath), ref.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch (e) {
    throw new ModelFileError('MODEL_MISSING', `model file ${modelPath} named by ${manifestPath} cannot be read: ${(e as Error).message}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== ref.sha256)
    throw new ModelFileError('HASH_MISMATCH', `model file ${modelPath} has sha256 ${sha} but the manifest says ${ref.sha256}`);
  return { manifest, bytes, modelPath, sha256: sha };
}
