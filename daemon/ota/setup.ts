// Wiring for OTA: trusted keys from config, the model store seeded with the configured model, and
// the device end started on the MQTT link.
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MANIFEST_NAME, SIGNATURE_NAME, type BundleFile } from '../../models/bundle.js';
import { modelFiles } from '../../models/manifest.js';
import { readManifest } from '../../models/manifest-file.js';
import { publicKeyFromPem } from '../../models/signing.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { ModelStore } from './model-store.js';

/** ota.trustedKeys: each entry is PEM text or the path of a PEM file. Throws naming the bad entry. */
export function loadTrustedKeys(entries: string[]): KeyObject[] {
  return entries.map((e, i) => {
    const pem = e.includes('-----BEGIN') ? e : readFileSync(resolve(e), 'utf8');
    try {
      return publicKeyFromPem(pem);
    } catch (err) {
      throw new Error(`ota.trustedKeys[${i}]: ${(err as Error).message}`);
    }
  });
}

/** The files of the model at manifestPath, as a bundle would carry them. */
export async function modelDirFiles(manifestPath: string): Promise<BundleFile[]> {
  const m = await readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const names = [MANIFEST_NAME, ...modelFiles(m).map((r) => r.file), ...(m.tests ?? []).map((t) => t.file)];
  if (existsSync(join(dir, SIGNATURE_NAME))) names.push(SIGNATURE_NAME);
  return Promise.all([...new Set(names)].map(async (name) => ({ name, bytes: await readFile(name === MANIFEST_NAME ? manifestPath : join(dir, name)) })));
}

/**
 * Open the store. On first start (no active version) the configured model (model.path) is installed
 * and activated; from then on the store's active version runs (what the last push or rollback
 * chose) and model.path is not looked at again: a pruned or replaced configured model must not come
 * back on a restart. To put another model on a device, push it (edgectl push --local on the device).
 */
export async function openStore(config: Config, log: Logger): Promise<{ store: ModelStore; manifestPath: string }> {
  const store = await ModelStore.open(config.ota.stateDir, { keep: config.ota.keepVersions });
  const m = await readManifest(config.model.path);
  const ref = { name: m.name, version: m.version };
  if (!store.pointer.active || !(await store.isInstalled(store.pointer.active))) {
    await store.install(ref, await modelDirFiles(config.model.path));
    await store.activate(ref);
    log.info('model store: installed the configured model', { model: ref, stateDir: config.ota.stateDir });
  }
  const manifestPath = store.activeManifestPath()!;
  log.info('model store', { active: store.pointer.active, previous: store.pointer.previous, stateDir: config.ota.stateDir });
  return { store, manifestPath };
}
