// Read a manifest and its model file, checking the file's sha256 (engine workers, edgectl).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Manifest } from './manifest.js';
import { readManifest } from './manifest-file.js';

export class ModelFileError extends Error {
  constructor(
    readonly code: 'MANIFEST_INVALID' | 'MODEL_MISSING' | 'HASH_MISMATCH',
    message: string,
  ) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export async function readModel(manifestPath: string): Promise<{ manifest: Manifest; bytes: Buffer; modelPath: string }> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(manifestPath);
  } catch (e) {
    throw new ModelFileError('MANIFEST_INVALID', (e as Error).message);
  }
  const modelPath = join(dirname(manifestPath), manifest.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch (e) {
    throw new ModelFileError('MODEL_MISSING', `model file ${modelPath} named by ${manifestPath} cannot be read: ${(e as Error).message}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.sha256)
    throw new ModelFileError('HASH_MISMATCH', `model file ${modelPath} has sha256 ${sha} but the manifest says ${manifest.sha256}`);
  return { manifest, bytes, modelPath };
}
