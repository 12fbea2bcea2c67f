// The engine for a model, from the config: a pool of engine workers (engine.workers), each supervised
// (restarts, heartbeat, error storms), with the face detector when any camera is in faces mode.
import { readFileSync } from 'node:fs';
import type { Config } from './config/config.js';
import type { Logger } from './log.js';
import { parseManifest, modelFileFor, type Manifest } from '../models/manifest.js';
import { EngineSupervisor } from '../pipelines/engines/supervisor.js';
import { EnginePool, engineWorkers } from '../pipelines/engines/pool.js';
import type { Engine } from '../pipelines/engines/engine.js';
import { defaultWorkerCommand } from '../pipelines/engines/client.js';
import { toSpecs } from '../pipelines/engines/onnxruntime/providers.js';
import { detectTensorRtVersion, withEngineCaches } from '../pipelines/engines/onnxruntime/engine-cache.js';

/** makeEngine(manifestPath): a new, unstarted engine for that model (the first one and every hot swap's). */
export function engineFactory(config: Config, known: { path: string; manifest: Manifest }, log: Logger): (manifestPath: string) => Engine {
  // TensorRT engine caches are keyed by model sha256 + engine options + TensorRT version.
  const trtVersion = detectTensorRtVersion();
  const faces = config.cameras.some((c) => c.mode === 'faces');
  // The Edge TPU worker (Python) classifies only; config validation refuses faces mode with it.
  const edgetpu = config.engine.backend === 'edgetpu';
  const workers = engineWorkers(config.engine);
  return (manifestPath: string): Engine => {
    const m = manifestPath === known.path ? known.manifest : parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), manifestPath);
    const member = (i: number) =>
      new EngineSupervisor(
        {
          manifestPath,
          ...(faces ? { detectorManifestPath: config.faces.detector } : {}),
          executionProviders: edgetpu
            ? config.engine.executionProviders.map((p) => (typeof p === 'string' ? p : p.name))
            : withEngineCaches(toSpecs(config.engine.executionProviders), modelFileFor(m, 'onnxruntime')?.sha256 ?? m.sha256, trtVersion),
          ...(edgetpu ? { worker: { command: defaultWorkerCommand('edgetpu') } } : {}),
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
