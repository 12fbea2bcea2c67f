// Wiring for OTA: trusted keys (with their roles) from config, the model store seeded with the
// configured model, what a start finds of a probation (resume, or fall back after too many starts),
// and the fallback to the last good version when the active one does not load at start.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MANIFEST_NAME, SIGNATURE_NAME, type BundleFile } from '../../models/bundle.js';
import { modelFiles } from '../../models/manifest.js';
import { readManifest } from '../../models/manifest-file.js';
import { LEGACY_ROLES, publicKeyFromPem, trustedKey, type TrustedKey } from '../../models/signing.js';
import type { Config } from '../config/config.js';
import { engineCacheDirs, pruneRemovedModels } from '../engine-setup.js';
import type { Logger } from '../log.js';
import { ModelStore } from './model-store.js';
import type { TrustedKeyEntry } from './config.js';
import { bootDecision } from './probation.js';
import { FloorFile, ProbationFile, writeDeviceIdentity, type ProbationRecord } from './records.js';

/**
 * ota.trustedKeys: each entry is PEM text or the path of a PEM file (roles "model" and "command"), or
 * {key, roles}. Throws naming the bad entry.
 */
export function loadTrustedKeys(entries: TrustedKeyEntry[]): TrustedKey[] {
  return entries.map((e, i) => {
    const text = typeof e === 'string' ? e : e.key;
    const pem = text.includes('-----BEGIN') ? text : readFileSync(resolve(text), 'utf8');
    try {
      return trustedKey(publicKeyFromPem(pem), typeof e === 'string' ? LEGACY_ROLES : e.roles);
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
 * A probation found on disk is counted: resumed, or, at the ota.probationMaxBoots-th start, ended by
 * falling back to the last good version (marked bad: never previous again).
 */
export async function openStore(config: Config, log: Logger): Promise<{ store: ModelStore; manifestPath: string; resume: ProbationRecord | null }> {
  const o = config.ota;
  // A removed model's TensorRT engines go with it (unless a kept version has the same model file).
  const cacheDirs = engineCacheDirs(config);
  const onRemoved = (removed: Buffer[], kept: string[]) => {
    const gone = pruneRemovedModels(cacheDirs, removed, kept);
    if (gone.length) log.info('engine caches of removed models pruned', { removed: gone });
  };
  const store = await ModelStore.open(o.stateDir, { keep: o.keepVersions, onRemoved });
  writeDeviceIdentity(o.stateDir, { site: config.site, deviceId: config.deviceId, groups: config.groups });
  const m = await readManifest(config.model.path);
  const ref = { name: m.name, version: m.version };
  if (!store.pointer.active || !(await store.isInstalled(store.pointer.active))) {
    await store.install(ref, await modelDirFiles(config.model.path));
    await store.activate(ref);
    log.info('model store: installed the configured model', { model: ref, stateDir: o.stateDir });
  }
  const file = new ProbationFile(o.stateDir, log);
  const d = bootDecision(file.read(), store.pointer.active, o.probationMaxBoots, Date.now());
  let resume: ProbationRecord | null = null;
  if (d.kind === 'stale') file.clear();
  else if (d.kind === 'resume') {
    file.write(d.record);
    resume = d.record;
  } else if (d.kind === 'fallback') {
    if (store.pointer.previous) {
      await fallBack(store, d.reason, o.stateDir, log);
    } else {
      log.error('probation: too many starts, but there is no previous version to fall back to; the trial goes on', { model: d.record.model });
      file.write(d.record);
      resume = d.record;
    }
  }
  const manifestPath = store.activeManifestPath()!;
  log.info('model store', { active: store.pointer.active, previous: store.pointer.previous, stateDir: o.stateDir, probation: resume ? { boots: resume.boots, until: new Date(resume.until).toISOString() } : null });
  return { store, manifestPath, resume };
}

/** Point the store back at the previous version (the active one is marked bad), end any trial, record why. */
async function fallBack(store: ModelStore, reason: string, stateDir: string, log: Logger): Promise<void> {
  const from = store.pointer.active;
  const to = store.pointer.previous;
  await store.rollback(reason);
  new ProbationFile(stateDir, log).clear();
  const at = new Date().toISOString();
  new FloorFile(stateDir, log).recordRollback({ from: from && { name: from.name, version: from.version }, to: to && { name: to.name, version: to.version }, reason, at });
  log.error('model fell back to the last good version at start', { from, to, reason });
}

/**
 * Start the active model with `start`; when it fails and a previous version is kept, fall back to it
 * (the failed one is marked bad) and try again. Returns what `start` returned and the manifest used.
 */
export async function startWithFallback<T>(store: ModelStore, stateDir: string, start: (manifestPath: string) => Promise<T>, log: Logger): Promise<{ value: T; manifestPath: string }> {
  for (;;) {
    const manifestPath = store.activeManifestPath()!;
    try {
      return { value: await start(manifestPath), manifestPath };
    } catch (e) {
      const active = store.pointer.active;
      if (!store.pointer.previous) throw e;
      await fallBack(store, `${active?.name} ${active?.version} failed to load at start: ${(e as Error).message}`, stateDir, log);
    }
  }
}
