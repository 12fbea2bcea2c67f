// mobilenet-edge --prepare: build and cache the engines of every model before traffic. Run by
// deploy/install.sh after installing, and by hand (or a deployment tool) after an OTA install, in the
// standby. Each model (the configured classifier, every version the OTA store holds, the face
// detector when a camera is in faces mode) is loaded in its own engine worker with the same provider
// requests the daemon makes (engine-setup.ts: same cache keys, same batch profile), with the build
// timeout. Every keyed TensorRT cache folder gets a prepared.json saying what ran and why the
// providers before it did not. It never touches the store's state (store.json is only read).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/config.js';
import { classifierProfile, placeOf, providersFor, readManifestSync, workerOptions } from './engine-setup.js';
import { EngineWorker } from '../pipelines/engines/client.js';
import { detectTensorRtVersion } from '../pipelines/engines/onnxruntime/engine-cache.js';
import type { BatchProfile, BuildingMsg, ProviderRequest } from '../pipelines/engines/protocol.js';
import { parsePointer } from './ota/model-store.js';

export interface PrepareTarget {
  role: 'classifier' | 'detector';
  manifestPath: string;
}

export interface PrepareResult extends PrepareTarget {
  model: string;
  version: string;
  sha256: string;
  profile: BatchProfile | null;
  /** The provider that ran, or null when none could. */
  provider: string | null;
  fallbacks: { name: string; reason: string }[];
  /** The worker said it built an engine (no cached one). */
  built: boolean;
  loadMs: number | null;
  error?: string;
  /** The keyed TensorRT cache folders this model's requests point at (prepared.json written in each). */
  caches: string[];
}

/** Every model the daemon may load: the configured one, the OTA store's versions, the detector. */
export function prepareTargets(config: Config): PrepareTarget[] {
  const out: PrepareTarget[] = [{ role: 'classifier', manifestPath: config.model.path }];
  if (config.ota.enabled) {
    let pointer = null;
    try {
      pointer = parsePointer(JSON.parse(readFileSync(join(config.ota.stateDir, 'store.json'), 'utf8')));
    } catch {
      /* no store yet: the configured model is all there is */
    }
    for (const v of pointer?.installed ?? []) out.push({ role: 'classifier', manifestPath: join(config.ota.stateDir, 'models', v.name, v.version, 'model.json') });
  }
  if (config.cameras.some((c) => c.mode === 'faces')) out.push({ role: 'detector', manifestPath: config.faces.detector });
  // the same model twice (configured and installed) is prepared once
  const seen = new Set<string>();
  return out.filter((t) => {
    const k = `${t.role}:${readManifestSync(t.manifestPath).sha256}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

export async function prepareOne(config: Config, target: PrepareTarget, trtVersion = detectTensorRtVersion()): Promise<PrepareResult> {
  const m = readManifestSync(target.manifestPath);
  const profile = target.role === 'classifier' ? classifierProfile(config) : undefined;
  const requests = providersFor(config, m, trtVersion, profile);
  const caches = requests.flatMap((r) => (typeof r !== 'string' && typeof r.engineCachePath === 'string' ? [r.engineCachePath] : []));
  const res: PrepareResult = { ...target, model: m.name, version: m.version, sha256: m.sha256, profile: profile ?? null, provider: null, fallbacks: [], built: false, loadMs: null, caches };
  const w = new EngineWorker({ ...workerOptions(config, placeOf(config, m)), onStderr: (l) => process.stderr.write(`  worker: ${l}\n`) });
  let building: string | null = null;
  w.on('building', (b: BuildingMsg) => {
    building = b.provider;
    process.stderr.write(`  building ${b.provider} engine for ${b.model} (${b.reason}): this can take minutes\n`);
  });
  try {
    await w.start();
    const loaded = target.role === 'detector'
      ? await w.loadDetector(target.manifestPath, requests as (string | ProviderRequest)[], config.engine.threads)
      : await w.load(target.manifestPath, requests as (string | ProviderRequest)[], config.engine.threads);
    // "built" only when the provider that announced a build is the one that runs (a TensorRT that then failed to load built nothing)
    Object.assign(res, { provider: loaded.provider, fallbacks: loaded.fallbacks, loadMs: Math.round(loaded.loadMs), built: building === loaded.provider });
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    await w.stop(2000);
  }
  const record = { model: res.model, version: res.version, sha256: res.sha256, role: res.role, profile: res.profile, provider: res.provider, fallbacks: res.fallbacks, built: res.built, loadMs: res.loadMs, ...(res.error ? { error: res.error } : {}), at: new Date().toISOString() };
  for (const c of caches) writeFileSync(join(c, 'prepared.json'), JSON.stringify(record, null, 2) + '\n');
  return res;
}

/** Prepare every target, one after the other (an engine build uses the whole GPU). Exit code: 0 when every model loads. */
export async function prepareAll(config: Config, out: (line: string) => void): Promise<number> {
  const trtVersion = detectTensorRtVersion();
  const targets = prepareTargets(config);
  out(`preparing ${targets.length} model(s) (TensorRT ${trtVersion}; build timeout ${config.watchdog.buildTimeoutSec} s)`);
  let failed = 0;
  for (const t of targets) {
    const r = await prepareOne(config, t, trtVersion);
    const p = r.profile ? ` batch ${r.profile.min}/${r.profile.opt}/${r.profile.max}` : '';
    if (r.error) {
      failed++;
      out(`FAILED ${r.role} ${r.model} ${r.version}${p}: ${r.error}`);
    } else out(`ok     ${r.role} ${r.model} ${r.version}${p}: ${r.provider}${r.built ? ', engine built' : ''}, load ${r.loadMs} ms`);
    for (const f of r.fallbacks) out(`         not ${f.name}: ${f.reason}`);
    for (const c of r.caches) out(`         cache ${c}`);
  }
  return failed ? 1 : 0;
}
