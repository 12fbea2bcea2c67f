// Wiring: config in, running daemon out. Start order: broker (if embedded) → MQTT → engine → cameras.
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import type { Config } from './config.js';
import { EngineSupervisor } from './engine-supervisor.js';
import type { Logger } from './log.js';
import { MqttLink } from './mqtt.js';
import { Pipeline, type FrameResult } from './pipeline.js';
import { readManifest } from '../models/manifest-file.js';
import { modelFileFor } from '../models/manifest.js';
import { resolveFfmpeg } from '../pipelines/sources/ffmpeg-path.js';
import { toSpecs } from '../pipelines/engines/onnxruntime/providers.js';
import { detectTensorRtVersion, withEngineCaches } from '../pipelines/engines/onnxruntime/engine-cache.js';
import { parseManifest } from '../models/manifest.js';
import { readFileSync } from 'node:fs';
import { ModelSwap } from './model-swap.js';
import { OtaDevice } from './ota-device.js';
import { loadTrustedKeys, openStore } from './ota-setup.js';

export interface AppOptions {
  /** Log every result at info level (the out-of-the-box demo does). */
  logResults?: boolean;
}

export interface App {
  mqttUrl: string;
  pipeline: Pipeline;
  /** The engine serving now (changes on a hot swap). */
  readonly engine: EngineSupervisor;
  mqtt: MqttLink;
  swap: ModelSwap;
  /** The OTA device end, when ota.enabled. */
  ota: OtaDevice | null;
  stop(): Promise<void>;
}

export const topics = (c: Pick<Config, 'site' | 'deviceId'>) => ({
  mask: (camera: string) => `${c.site}/${camera}/mask`,
  status: `${c.site}/${c.deviceId}/status`,
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
      statusTopic: t.status,
    },
    log.child({ part: 'mqtt' }),
  );
  // A broker that is down at start must not stop the daemon: results are dropped until it is back.
  await mqtt.start(5000).catch((e) => log.warn('MQTT broker not reachable yet; results are dropped until it is', { err: (e as Error).message }));

  // TensorRT engine caches are keyed by model sha256 + engine options + TensorRT version.
  const trtVersion = detectTensorRtVersion();
  const makeEngine = (manifestPath: string) => {
    const m = manifestPath === modelPath ? manifest : parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), manifestPath);
    return new EngineSupervisor(
      {
        manifestPath,
        executionProviders: withEngineCaches(toSpecs(config.engine.executionProviders), modelFileFor(m, 'onnxruntime')?.sha256 ?? m.sha256, trtVersion),
        threads: config.engine.threads,
        inferTimeoutMs: config.engine.inferenceTimeoutMs,
        restartMinMs: config.source.restartMinMs,
        restartMaxMs: config.source.restartMaxMs,
      },
      log.child({ part: 'engine' }),
    );
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
  const publish = (r: FrameResult) => {
    mqtt.publishFrame(t.mask(r.camera), JSON.stringify(r));
    if (opts.logResults) resultLog.info(`${r.camera} #${r.frame} ${r.label} ${r.score.toFixed(3)}`, { latencyMs: r.latencyMs });
    else resultLog.debug('result', { ...r });
  };
  const pipeline = new Pipeline(
    {
      cameras: config.cameras,
      ffmpegPath: ffmpeg.path,
      rtspTimeoutSec: config.source.rtspTimeoutSec,
      stallSec: config.source.stallSec,
      restartMinMs: config.source.restartMinMs,
      restartMaxMs: config.source.restartMaxMs,
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
    ota = new OtaDevice({ ...config.ota, site: config.site, deviceId: config.deviceId, trusted }, otaStore.store, swap, pipeline, mqtt, log.child({ part: 'ota' }));
    ota.start();
  }

  return {
    mqttUrl,
    pipeline,
    get engine() {
      return swap.current;
    },
    mqtt,
    swap,
    ota,
    async stop() {
      await ota?.stop();
      await pipeline.stop();
      await swap.current.stop();
      await mqtt.stop();
      await broker?.close();
    },
  };
}
