// Model bundles for OTA tests, made from the tiny fixture (8x8 RGB → red/blue): other versions,
// label sets, broken model files, test vectors. Everything is built in memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBundle, sha256Hex, type BundleFile } from '../../models/bundle.js';
import { signManifest } from '../../models/signing.js';
import type { KeyObject } from 'node:crypto';

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
  /** Sign with this key (default: unsigned). */
  key?: KeyObject;
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
  o.edit?.(m);
  const manifestBytes = Buffer.from(JSON.stringify(m, null, 2));
  files.unshift({ name: 'model.json', bytes: manifestBytes });
  if (o.key) files.push({ name: 'model.json.sig', bytes: Buffer.from(JSON.stringify(signManifest(manifestBytes, o.key))) });
  return files;
}

export const variantBundle = (o: VariantOptions) => encodeBundle(variantFiles(o));
