// The engine for a model, from the config: a pool of engine workers (engine.workers), each supervised
// (restarts, heartbeat, error storms), with the face detector when any camera is in faces mode. What
// each worker loads (provider lists with per-model engine caches, batch profile, timeouts) comes from
// engine-setup.ts, shared with `mobilenet-edge --prepare`.
import type { Config } from './config/config.js';
import type { Logger } from './log.js';
import type { Manifest } from '../models/manifest.js';
import { EngineSupervisor, type EngineSupervisorOptions } from '../pipelines/engines/supervisor.js';
import { SplitFacesEngine } from '../pipelines/engines/split.js';
import { EnginePool, engineWorkers } from '../pipelines/engines/pool.js';
import type { Engine } from '../pipelines/engines/engine.js';
import { detectTensorRtVersion } from '../pipelines/engines/onnxruntime/engine-cache.js';
import { classifierProfile, placeOf, providersFor, readManifestSync, workerOptions } from './engine-setup.js';

/**
 * makeEngine(manifestPath): a new, unstarted engine for that model (the first one and every hot swap's).
 * When the face detector and the classifier belong in different workers (engine.backend "edgetpu" with
 * UltraFace, or with a classifier that has only an ONNX file: placeOf), a SplitFacesEngine over one
 * worker for each (D112); otherwise a pool of workers that each hold both.
 */
export function engineFactory(config: Config, known: { path: string; manifest: Manifest }, log: Logger): (manifestPath: string) => Engine {
  // TensorRT engine caches are keyed by model sha256 + engine options + batch profile + TensorRT version.
  const trtVersion = detectTensorRtVersion();
  const faces = config.cameras.some((c) => c.mode === 'faces');
  const workers = engineWorkers(config.engine);
  const detector = faces ? readManifestSync(config.faces.detector) : undefined;
  const detectorPlace = detector ? placeOf(config, detector) : undefined;
  // The detector has its own provider list: its own engine cache, keyed by its own sha256.
  const detectorProviders = detector ? providersFor(config, detector, trtVersion) : undefined;
  const supervisor = (o: Pick<EngineSupervisorOptions, 'manifestPath' | 'executionProviders' | 'worker'> & Partial<EngineSupervisorOptions>, part: Record<string, unknown>) =>
    new EngineSupervisor(
      {
        ...o,
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
      log.child({ part: 'engine', ...part }),
    );
  return (manifestPath: string): Engine => {
    const m = manifestPath === known.path ? known.manifest : readManifestSync(manifestPath);
    const place = placeOf(config, m);
    const classifier = { manifestPath, executionProviders: providersFor(config, m, trtVersion, classifierProfile(config), place), worker: workerOptions(config, place) };
    if (detector && detectorPlace !== place) {
      log.info('face detector and classifier in two engine workers', { detector: detectorPlace, classifier: place });
      return new SplitFacesEngine(
        supervisor({ manifestPath: config.faces.detector, detectorOnly: true, executionProviders: detectorProviders!, worker: workerOptions(config, detectorPlace) }, { worker: `detector-${detectorPlace}` }),
        supervisor(classifier, { worker: `classifier-${place}` }),
      );
    }
    const member = (i: number) =>
      supervisor({ ...classifier, ...(faces ? { detectorManifestPath: config.faces.detector, detectorExecutionProviders: detectorProviders } : {}) }, workers > 1 ? { worker: i } : {});
    return new EnginePool(Array.from({ length: workers }, (_, i) => member(i)));
  };
}
