// Wiring: config in, running daemon out. Start order: broker (if embedded) → MQTT → engine → cameras.
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import type { Config } from './config.js';
import { EngineSupervisor } from './engine-supervisor.js';
import { EnginePool, engineWorkers, type Engine } from './engine-pool.js';
import type { Logger } from './log.js';
import { MqttLink } from './mqtt.js';
import { Pipeline, type FacesFrameResult, type FrameResult } from './pipeline.js';
import { FacesOut } from './faces-out.js';
import { discoveryMessages } from './homeassistant.js';
import { packageRoot } from '../models/paths.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../models/manifest-file.js';
import { modelFileFor } from '../models/manifest.js';
import { resolveFfmpeg } from '../pipelines/sources/ffmpeg-path.js';
import { defaultWorkerCommand } from '../pipelines/engines/client.js';
import { toSpecs } from '../pipelines/engines/onnxruntime/providers.js';
import { detectTensorRtVersion, withEngineCaches } from '../pipelines/engines/onnxruntime/engine-cache.js';
import { Outbox } from './outbox.js';
import { Watchdog } from './watchdog.js';
import { Metrics, startHttp, type HttpServer } from './http.js';
import { Preview } from './preview.js';
import type { Frame } from '../pipelines/sources/process-source.js';
import type { FaceResult } from '../pipelines/engines/protocol.js';
import { parseManifest } from '../models/manifest.js';
import { ModelSwap } from './model-swap.js';
import { OtaDevice } from './ota-device.js';
import { loadTrustedKeys, openStore } from './ota-setup.js';

export interface AppOptions {
  /** Log every result at info level (the out-of-the-box demo does). */
  logResults?: boolean;
  /** Environment for sd_notify (NOTIFY_SOCKET, WATCHDOG_USEC); default: none (no systemd). */
  env?: NodeJS.ProcessEnv;
}

export interface App {
  mqttUrl: string;
  pipeline: Pipeline;
  facesOut: FacesOut;
  /** The engine serving now (changes on a hot swap). */
  readonly engine: Engine;
  mqtt: MqttLink;
  watchdog: Watchdog;
  /** /healthz and /metrics; null when http.port is 0 or the port could not be bound. */
  http: HttpServer | null;
  swap: ModelSwap;
  /** The OTA device end, when ota.enabled. */
  ota: OtaDevice | null;
  stop(): Promise<void>;
}

export const topics = (c: Pick<Config, 'site' | 'deviceId'>) => ({
  mask: (camera: string) => `${c.site}/${camera}/mask`,
  state: (camera: string) => `${c.site}/${camera}/mask/state`,
  status: `${c.site}/${c.deviceId}/status`,
  health: `${c.site}/${c.deviceId}/health`,
});

export async function startApp(config: Config, log: Logger, opts: AppOptions = {}): Promise<App> {
  const t = topics(config);
  // With OTA, the model store says which version runs (seeded with model.path on first start).
  const trusted = config.ota.enabled ? loadTrustedKeys(config.ota.trustedKeys) : [];
  const otaStore = config.ota.enabled ? await openStore(config, log.child({ part: 'ota' })) : null;
  const modelPath = otaStore?.manifestPath ?? config.model.path;
  const manifest = await readManifest(modelPath);
  const ffmpeg = resolveFfmpeg(config.source.ffmpegPath);
  log.info('ffmpeg', { path: ffmpeg.path, origin: ffmpeg.origin });

  let broker: EmbeddedBroker | null = null;
  let mqttUrl = config.mqtt.url;
  if (!mqttUrl) {
    broker = await startEmbeddedBroker(config.mqtt.embeddedPort);
    mqttUrl = broker.url;
    log.info('embedded MQTT broker listening (no mqtt.url configured)', { url: mqttUrl });
  }

  const mqtt = new MqttLink(
    {
      url: mqttUrl,
      username: config.mqtt.username,
      password: config.mqtt.password,
      clientId: config.mqtt.clientId,
      keepaliveSec: config.mqtt.keepaliveSec,
      reconnectMinMs: config.mqtt.reconnectMinMs,
      reconnectMaxMs: config.mqtt.reconnectMaxMs,
      qos: config.mqtt.qos,
      caFile: config.mqtt.caFile,
      certFile: config.mqtt.certFile,
      keyFile: config.mqtt.keyFile,
      rejectUnauthorized: config.mqtt.rejectUnauthorized,
      protocolVersion: broker ? 4 : config.mqtt.protocolVersion,
      statusTopic: t.status,
    },
    log.child({ part: 'mqtt' }),
    new Outbox({ max: config.outbox.maxMessages, file: config.outbox.dir ? join(config.outbox.dir, 'outbox.json') : null }),
  );
  if (mqtt.outbox?.lastError) log.warn('outbox', { err: mqtt.outbox.lastError });
  if (mqtt.outbox?.size) log.info('outbox has state events from before the restart', { queued: mqtt.outbox.size });
  // A broker that is down at start must not stop the daemon: results are dropped until it is back.
  await mqtt.start(5000).catch((e) => log.warn('MQTT broker not reachable yet; results are dropped until it is', { err: (e as Error).message }));

  // TensorRT engine caches are keyed by model sha256 + engine options + TensorRT version.
  const trtVersion = detectTensorRtVersion();
  const facesCameras = config.cameras.filter((c) => c.mode === 'faces').map((c) => c.id);
  // The Edge TPU worker (Python) classifies only; config validation refuses faces mode with it.
  const edgetpu = config.engine.backend === 'edgetpu';
  const workers = engineWorkers(config.engine);
  const makeEngine = (manifestPath: string): Engine => {
    const m = manifestPath === modelPath ? manifest : parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), manifestPath);
    const member = (i: number) => new EngineSupervisor(
      {
        manifestPath,
        ...(facesCameras.length ? { detectorManifestPath: config.faces.detector } : {}),
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
  const engine = makeEngine(modelPath);
  try {
    await engine.start();
  } catch (e) {
    await mqtt.stop();
    await broker?.close();
    throw e;
  }

  const resultLog = log.child({ part: 'result' });
  let watchdog: Watchdog | null = null;
  const metrics = new Metrics(() => watchdog?.report ?? null);
  const publish = (r: FrameResult, frame?: Frame) => {
    if (frame) preview?.offer(r.camera, frame, [], r.label);
    metrics.observeInference(r.inferMs);
    mqtt.publishFrame(t.mask(r.camera), JSON.stringify(r));
    if (opts.logResults) resultLog.info(`${r.camera} #${r.frame} ${r.label} ${r.score.toFixed(3)}`, { latencyMs: r.latencyMs });
    else resultLog.debug('result', { ...r });
  };
  const f = config.faces;
  const facesOut = new FacesOut({
    maskTopic: t.mask,
    stateTopic: t.state,
    policy: f.publish === 'rate' ? { mode: 'rate', maxHz: f.publishMaxHz } : { mode: f.publish },
    hysteresis: f.stateHysteresis,
    publishFrame: (topic, payload) => mqtt.publishFrame(topic, payload),
    publishRetained: (topic, payload) => mqtt.publishRetained(topic, payload),
    onState: (camera, c) => resultLog.info(`${camera} state ${c.previous ?? '-'} → ${c.state}`, { since: c.since, sinceFrame: c.sinceFrame, counts: c.counts }),
  });
  const preview = config.preview.enabled ? new Preview(config.preview, config.cameras.map((c) => c.id), log.child({ part: 'preview' })) : null;
  const onFaces = (r: FacesFrameResult, frame: Frame, workingFaces: readonly FaceResult[]) => {
    facesOut.handle(r);
    preview?.offer(r.camera, frame, workingFaces, r.label);
    if (opts.logResults) resultLog.info(`${r.camera} #${r.frame} ${r.label} faces=${r.counts.faces}`, { latencyMs: r.latencyMs });
    else resultLog.debug('result', { camera: r.camera, frame: r.frame, label: r.label, counts: r.counts });
  };
  if (config.homeassistant.enabled && facesCameras.length) {
    const version = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
    for (const m of discoveryMessages({ prefix: config.homeassistant.prefix, site: config.site, deviceId: config.deviceId, statusTopic: t.status, stateTopic: t.state, cameras: facesCameras, version }))
      mqtt.publishRetained(m.topic, m.payload);
    log.info('Home Assistant discovery published', { prefix: config.homeassistant.prefix, cameras: facesCameras });
  }
  const pipeline = new Pipeline(
    {
      cameras: config.cameras,
      faces: {
        ...(f.scoreThreshold > 0 ? { scoreThreshold: f.scoreThreshold } : {}),
        ...(f.iouThreshold > 0 ? { iouThreshold: f.iouThreshold } : {}),
        margin: f.margin,
        maxFaces: f.maxFaces,
        minFaceSize: f.minFaceSize,
      },
      onFaces,
      ffmpegPath: ffmpeg.path,
      rtspTimeoutSec: config.source.rtspTimeoutSec,
      stallSec: config.watchdog.frameStallSec,
      restartMinMs: config.watchdog.restartMinMs,
      restartMaxMs: config.watchdog.restartMaxMs,
      healthyResetSec: config.watchdog.healthyResetSec,
      batch: config.engine.batch,
    },
    manifest,
    engine,
    publish,
    log.child({ part: 'pipeline' }),
  );
  pipeline.start();

  const swap = new ModelSwap(engine, makeEngine, pipeline, log.child({ part: 'swap' }));
  let ota: OtaDevice | null = null;
  if (otaStore) {
    ota = new OtaDevice({ ...config.ota, site: config.site, deviceId: config.deviceId, groups: config.groups, trusted }, otaStore.store, swap, pipeline, mqtt, log.child({ part: 'ota' }));
    ota.start();
  }
  const wd = new Watchdog(config.watchdog, { pipeline, get engine() { return swap.current; }, mqtt, healthTopic: t.health }, log.child({ part: 'watchdog' }), opts.env ?? {});
  watchdog = wd;
  wd.start();
  let httpServer: HttpServer | null = null;
  if (config.http.port) {
    // A taken port must not stop the cameras: logged, and the daemon runs without /healthz.
    httpServer = await startHttp(config.http.host, config.http.port, () => wd.report, metrics, preview ? [(url, req, res) => preview.handle(url, req, res)] : [], config.http.token).catch((e) => {
      log.error('health/metrics server not started', { host: config.http.host, port: config.http.port, err: (e as Error).message });
      return null;
    });
    if (httpServer) log.info('health and metrics', { url: `http://${config.http.host}:${httpServer.port}/healthz`, metrics: `http://${config.http.host}:${httpServer.port}/metrics` });
  }

  return {
    mqttUrl,
    pipeline,
    facesOut,
    get engine() {
      return swap.current;
    },
    mqtt,
    watchdog: wd,
    http: httpServer,
    swap,
    ota,
    async stop() {
      wd.stop(); // STOPPING=1; no more WATCHDOG=1
      await ota?.stop();
      await pipeline.stop();
      await swap.current.stop();
      await mqtt.stop();
      await broker?.close();
      preview?.close();
      await httpServer?.close();
      wd.close();
    },
  };
}
