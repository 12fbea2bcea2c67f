// The engine for a model, from the config: a pool of engine workers (engine.workers), each supervised
// (restarts, heartbeat, error storms), with the face detector when any camera is in faces mode. What
// each worker loads (provider lists with per-model engine caches, batch profile, timeouts) comes from
// engine-setup.ts, shared with `mobilenet-edge --prepare`.
import type { Config } from './config/config.js';
import type { Logger } from './log.js';
import type { Manifest } from '../models/manifest.js';
import { EngineSupervisor } from '../pipelines/engines/supervisor.js';
import { EnginePool, engineWorkers } from '../pipelines/engines/pool.js';
import type { Engine } from '../pipelines/engines/engine.js';
import { detectTensorRtVersion } from '../pipelines/engines/onnxruntime/engine-cache.js';
import { classifierProfile, providersFor, readManifestSync, workerOptions } from './engine-setup.js';

/** makeEngine(manifestPath): a new, unstarted engine for that model (the first one and every hot swap's). */
export function engineFactory(config: Config, known: { path: string; manifest: Manifest }, log: Logger): (manifestPath: string) => Engine {
  // TensorRT engine caches are keyed by model sha256 + engine options + batch profile + TensorRT version.
  const trtVersion = detectTensorRtVersion();
  const faces = config.cameras.some((c) => c.mode === 'faces');
  const workers = engineWorkers(config.engine);
  // The detector has its own provider list: its own engine cache, keyed by its own sha256.
  const detectorProviders = faces ? providersFor(config, readManifestSync(config.faces.detector), trtVersion) : undefined;
  return (manifestPath: string): Engine => {
    const m = manifestPath === known.path ? known.manifest : readManifestSync(manifestPath);
    const member = (i: number) =>
      new EngineSupervisor(
        {
          manifestPath,
          ...(faces ? { detectorManifestPath: config.faces.detector, detectorExecutionProviders: detectorProviders } : {}),
          executionProviders: providersFor(config, m, trtVersion, classifierProfile(config)),
          worker: workerOptions(config),
          threads: config.engine.threads,
          inferTimeoutMs: config.watchdog.inferenceTimeoutMs,
          restartMinMs: config.watchdog.restartMinMs,
          restartMaxMs: config.watchdog.restartMaxMs,
          heartbeatMs: config.watchdog.heartbeatMs,
          heartbeatTimeoutMs: config.watchdog.heartbeatTimeoutMs,
          errorStormCount: config.watchdog.errorStormCount,
          errorStormWindowMs: config.watchdog.errorStormWindowSec * 1000,
          healthyResetMs: config.watchdog.healthyResetSec * 1000,
        },
        log.child({ part: 'engine', ...(workers > 1 ? { worker: i } : {}) }),
      );
    return new EnginePool(Array.from({ length: workers }, (_, i) => member(i)));
  };
}
