// Model bundles for OTA tests, made from the tiny fixture (8x8 RGB → red/blue): other versions,
// label sets, broken model files, test vectors. Everything is built in memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBundle, sha256Hex, type BundleFile } from '../../models/bundle.js';
import { signManifest } from '../../models/signing.js';
import type { KeyObject } from 'node:crypto';
import { defaultUpdateMeta, type UpdateMeta } from '../../models/update-meta.js';

let lastSequence = 0;
/** Update sequences that grow with each bundle made here (ms since the epoch, like edgectl's). */
export const nextSequence = () => (lastSequence = Math.max(Date.now(), lastSequence + 1));

export const TINY_DIR = join(import.meta.dirname, '..', 'fixtures', 'tiny');
export const tinyOnnx = () => readFileSync(join(TINY_DIR, 'model.onnx'));
export const tinyManifest = () => JSON.parse(readFileSync(join(TINY_DIR, 'model.json'), 'utf8')) as Record<string, any>;

/** An 8x8 RGB24 frame of one colour. */
export const solid = (rgb: [number, number, number], w = 8, h = 8) => Buffer.from(Array.from({ length: w * h }, () => rgb).flat());

export interface VariantOptions {
  version: string;
  labels?: string[];
  /** Model file bytes (default: the tiny model). */
  onnx?: Buffer;
  /** Changes to the manifest after the sha256 is filled in. */
  edit?: (m: Record<string, any>) => void;
  /** Test vectors: [label, rgb]. */
  tests?: [string, [number, number, number]][];
  /** Sign with this key (default: unsigned), or with each of these keys (k of n). */
  key?: KeyObject | KeyObject[];
  /**
   * Signed update metadata (models/update-meta.ts): fields here replace the defaults (site "site",
   * every device, the next sequence, 1 day); null: none at all.
   */
  update?: Partial<UpdateMeta> | null;
}

export function variantFiles(o: VariantOptions): BundleFile[] {
  const onnx = o.onnx ?? tinyOnnx();
  const m = tinyManifest();
  m.version = o.version;
  if (o.labels) m.labels = o.labels;
  m.sha256 = sha256Hex(onnx);
  const files: BundleFile[] = [{ name: 'model.onnx', bytes: onnx }];
  if (o.tests) {
    m.tests = o.tests.map(([label, rgb], i) => {
      const bytes = solid(rgb);
      files.push({ name: `test-${i}.rgb`, bytes });
      return { file: `test-${i}.rgb`, sha256: sha256Hex(bytes), label };
    });
  }
  if (o.update !== null) m.update = { ...defaultUpdateMeta({ site: 'site', sequence: nextSequence(), expiresHours: 24 }), ...o.update };
  o.edit?.(m);
  const manifestBytes = Buffer.from(JSON.stringify(m, null, 2));
  files.unshift({ name: 'model.json', bytes: manifestBytes });
  const keys = o.key === undefined ? [] : Array.isArray(o.key) ? o.key : [o.key];
  const sigs = keys.map((k) => signManifest(manifestBytes, k));
  if (sigs.length) files.push({ name: 'model.json.sig', bytes: Buffer.from(JSON.stringify(sigs.length === 1 ? sigs[0] : sigs)) });
  return files;
}

export const variantBundle = (o: VariantOptions) => encodeBundle(variantFiles(o));
