// Read and validate a model.json from disk.
import { readFile } from 'node:fs/promises';
import { parseManifest, ManifestError, type Manifest } from './manifest.js';

export async function readManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ManifestError(path, [`cannot read the manifest: ${(e as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(path, [`not valid JSON: ${(e as Error).message}`]);
  }
  return parseManifest(raw, path);
}
