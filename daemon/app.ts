// Wiring: config in, running daemon out. Every long-lived part starts through the lifecycle container
// (daemon/lifecycle.ts) in this order — broker (if embedded) → MQTT → engine → preview → pipeline →
// OTA → watchdog → HTTP (with the dashboard) — and stops in reverse; a part that fails to start stops the ones before it.
import { startEmbeddedBroker } from './mqtt/broker.js';
import type { Config } from './config/config.js';
import type { Logger } from './log.js';
import { MqttLink } from './mqtt/link.js';
import { Pipeline, type FacesFrameResult, type FrameResult, type ResultSink } from '../pipelines/pipeline.js';
import { SharedFrames } from '../pipelines/sources/shared-frames.js';
import { FacesOut } from '../pipelines/faces-out.js';
import { discoveryMessages } from './mqtt/homeassistant.js';
import { packageRoot } from '../models/paths.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../models/manifest-file.js';
import { resolveFfmpeg } from '../pipelines/sources/ffmpeg-path.js';
import type { Engine } from '../pipelines/engines/engine.js';
import { engineBatchFrames } from '../pipelines/engines/pool.js';
import { Outbox } from './mqtt/outbox.js';
import { Watchdog } from './watchdog.js';
import { startHttp, type HttpServer } from './http/server.js';
import { Metrics } from './http/metrics.js';
import { Preview } from './http/preview.js';
import { Dashboard } from './http/dashboard.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Frame } from '../pipelines/sources/source.js';
import type { FaceResult } from '../pipelines/engines/protocol.js';
import { ModelSwap } from './ota/model-swap.js';
import { OtaDevice } from './ota/device.js';
import { loadTrustedKeys, openStore, startWithFallback } from './ota/setup.js';
import { hasNonFinite, ResultReadings } from './ota/readings.js';
import { Lifecycle } from './lifecycle.js';
import { engineFactory } from './engines.js';
import { startPeople } from './people.js';
import type { PeopleStage } from '../pipelines/tracking/stage.js';

export interface AppOptions {
  /** Log every result at info level (the out-of-the-box demo does). */
  logResults?: boolean;
  /** Environment for sd_notify (NOTIFY_SOCKET, WATCHDOG_USEC); default: none (no systemd). */
  env?: NodeJS.ProcessEnv;
}

export interface App {
  mqttUrl: string;
  pipeline: Pipeline;
  /** The frame reader and its shared-memory slots (D134, D174). */
  frames: SharedFrames;
  facesOut: FacesOut;
  /** Tracking and people (issue 14); null when people.enabled is false or no camera is in faces mode. */
  people: PeopleStage | null;
  /** The engine serving now (changes on a hot swap). */
  readonly engine: Engine;
  mqtt: MqttLink;
  watchdog: Watchdog;
  /** /healthz, /metrics and the dashboard; null when http.port is 0 or the port could not be bound. */
  http: HttpServer | null;
  /** The dashboard (daemon/http/dashboard.ts); null when http.port is 0. */
  dashboard: Dashboard | null;
  swap: ModelSwap;
  /** The OTA device end, when ota.enabled. */
  ota: OtaDevice | null;
  stop(): Promise<void>;
}

export const topics = (c: Pick<Config, 'site' | 'deviceId'>) => ({
  mask: (camera: string) => `${c.site}/${camera}/mask`,
  state: (camera: string) => `${c.site}/${camera}/mask/state`,
  events: (camera: string) => `${c.site}/${camera}/mask/events`,
  snapshot: (camera: string) => `${c.site}/${camera}/mask/snapshot`,
  status: `${c.site}/${c.deviceId}/status`,
  health: `${c.site}/${c.deviceId}/health`,
});

function mqttLink(config: Config, url: string, embedded: boolean, log: Logger): MqttLink {
  const m = config.mqtt;
  return new MqttLink(
    {
      url,
      username: m.username,
      password: m.password,
      clientId: m.clientId,
      keepaliveSec: m.keepaliveSec,
      reconnectMinMs: m.reconnectMinMs,
      reconnectMaxMs: m.reconnectMaxMs,
      qos: m.qos,
      caFile: m.caFile,
      certFile: m.certFile,
      keyFile: m.keyFile,
      rejectUnauthorized: m.rejectUnauthorized,
      protocolVersion: embedded ? 4 : m.protocolVersion,
      statusTopic: topics(config).status,
      // OTA chunks are the largest messages a device receives (MQTT 5: the broker sends nothing larger)
      ...(config.ota.enabled ? { maxPacketBytes: config.ota.maxChunkBytes + 8192 } : {}),
    },
    log.child({ part: 'mqtt' }),
    new Outbox({ max: config.outbox.maxMessages, file: config.outbox.dir ? join(config.outbox.dir, 'outbox.json') : null }),
  );
}

export async function startApp(config: Config, log: Logger, opts: AppOptions = {}): Promise<App> {
  const t = topics(config);
  const life = new Lifecycle(log.child({ part: 'lifecycle' }));
  // With OTA, the model store says which version runs (seeded with model.path on first start).
  const trusted = config.ota.enabled ? loadTrustedKeys(config.ota.trustedKeys) : [];
  const otaStore = config.ota.enabled ? await openStore(config, log.child({ part: 'ota' })) : null;
  const modelPath = otaStore?.manifestPath ?? config.model.path;
  // With OTA an unreadable active manifest is a failed load: the engine load below falls back
  // (ota/setup.ts); the configured model's manifest stands in until then.
  const manifest = await readManifest(modelPath).catch((e) => {
    if (!otaStore) throw e;
    return readManifest(config.model.path);
  });
  const ffmpeg = resolveFfmpeg(config.source.ffmpegPath);
  log.info('ffmpeg', { path: ffmpeg.path, origin: ffmpeg.origin });

  let mqttUrl = config.mqtt.url;
  if (!mqttUrl) {
    const broker = await life.add('broker', () => startEmbeddedBroker(config.mqtt.embeddedPort), (b) => b.close());
    mqttUrl = broker.url;
    log.info('embedded MQTT broker listening (no mqtt.url configured)', { url: mqttUrl });
  }
  const mqtt = await life.add(
    'mqtt',
    async () => {
      const link = mqttLink(config, mqttUrl, !config.mqtt.url, log);
      if (link.outbox?.lastError) log.warn('outbox', { err: link.outbox.lastError });
      if (link.outbox?.size) log.info('outbox has state events from before the restart', { queued: link.outbox.size });
      // A broker that is down at start must not stop the daemon: results are dropped until it is back.
      await link.start(5000).catch((e) => log.warn('MQTT broker not reachable yet; results are dropped until it is', { err: (e as Error).message }));
      return link;
    },
    (link) => link.stop(),
  );

  const makeEngine = engineFactory(config, { path: modelPath, manifest }, log);
  // The swap owns the engine from here: whichever serves when the daemon stops is the one stopped.
  let swap: ModelSwap | null = null;
  // Made here, loaded only once the watchdog and /healthz run: a first TensorRT build takes minutes, and
  // systemd (EXTEND_TIMEOUT_USEC, STATUS) and the health report must hear about it (docs/RELIABILITY.md).
  // Every camera's frames go through one frame reader into shared memory (D134, D174). It starts before
  // the engine and stops after it, so every frame in flight has given its slot back by then.
  const frames = await life.add('frame reader', () => startFrames(log.child({ part: 'frames' })), (s) => stopFrames(s, log.child({ part: 'frames' })));
  const engine = await life.add('engine', () => makeEngine(modelPath), (e) => (swap?.current ?? e).stop());

  // What probation reads from the results: non-finite scores and inference times per model version.
  const readings = new ResultReadings();
  const resultLog = log.child({ part: 'result' });
  let watchdog: Watchdog | null = null;
  const metrics = new Metrics(() => watchdog?.report ?? null);
  const f = config.faces;
  const facesCameras = config.cameras.filter((c) => c.mode === 'faces').map((c) => c.id);
  const facesOut = new FacesOut({
    maskTopic: t.mask,
    stateTopic: t.state,
    policy: f.publish === 'rate' ? { mode: 'rate', maxHz: f.publishMaxHz } : { mode: f.publish },
    hysteresis: f.stateHysteresis,
    publishFrame: (topic, payload) => mqtt.publishFrame(topic, payload),
    publishRetained: (topic, payload) => mqtt.publishRetained(topic, payload),
    onState: (camera, c) => resultLog.info(`${camera} state ${c.previous ?? '-'} → ${c.state}`, { since: c.since, sinceFrame: c.sinceFrame, counts: c.counts }),
  });
  // The dashboard is there whenever the HTTP server is; it costs nothing until a page is open (D73).
  // Made before the pipeline and OTA start, so it sees their first publishes.
  const dashboard = !config.http.port
    ? null
    : await life.add('dashboard', () => new Dashboard(
        {
          site: config.site,
          deviceId: config.deviceId,
          version: JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string,
          cameras: config.cameras.map((c) => ({ id: c.id, mode: c.mode })),
          token: config.http.token,
          fps: config.preview.fps,
          quality: 70,
          maxWidth: 960,
          pageDir: join(packageRoot(), 'daemon', 'http', 'page'),
          report: () => watchdog?.report ?? null,
          publisher: mqtt,
          modelStateTopic: `${config.site}/${config.deviceId}/model/state`,
        },
        log.child({ part: 'dashboard' }),
      ), (d) => d.close());
  const preview = await life.add('preview', () => (config.preview.enabled ? new Preview(config.preview, config.cameras.map((c) => c.id), log.child({ part: 'preview' })) : null), (p) => p?.close());
  const sink: ResultSink = {
    classified(r: FrameResult, frame: Frame) {
      preview?.offer(r.camera, frame, [], r.label);
      dashboard?.live?.(r.camera, frame, r.label);
      metrics.observeInference(r.inferMs);
      readings.observe(r.model, hasNonFinite(r.score, r.scores), r.inferMs);
      mqtt.publishFrame(t.mask(r.camera), JSON.stringify(r));
      if (opts.logResults) resultLog.info(`${r.camera} #${r.frame} ${r.label} ${r.score.toFixed(3)}`, { latencyMs: r.latencyMs });
      else resultLog.debug('result', { ...r });
    },
    faces(r: FacesFrameResult, frame: Frame, workingFaces: readonly FaceResult[], classifyMsPerFace?: number) {
      facesOut.handle(r);
      // Only faces read on this frame are this model's readings (a tracked face carries its verdict).
      // Its speed: the classifier's time per face read, only when it read one (a frame without faces
      // took 0 ms of it: counted as a time, an empty scene made the median 0 and a slow model invisible).
      const read = r.faces.filter((x) => x.classified !== false);
      if (read.length || !r.faces.length) readings.observe(r.model, hasNonFinite(undefined, undefined, read.map((x) => x.score)), classifyMsPerFace ?? NaN);
      preview?.offer(r.camera, frame, workingFaces, r.label);
      dashboard?.live?.(r.camera, frame, r.label, r.faces, workingFaces);
      if (opts.logResults) resultLog.info(`${r.camera} #${r.frame} ${r.label} faces=${r.counts.faces}`, { latencyMs: r.latencyMs });
      else resultLog.debug('result', { camera: r.camera, frame: r.frame, label: r.label, counts: r.counts });
    },
  };
  const people = facesCameras.length && config.people.enabled ? await startPeople(config, manifest, mqtt, t, log.child({ part: 'people' })) : null;
  if (config.homeassistant.enabled && facesCameras.length) {
    const version = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
    for (const m of discoveryMessages({ prefix: config.homeassistant.prefix, site: config.site, deviceId: config.deviceId, statusTopic: t.status, stateTopic: t.state, cameras: facesCameras, version, ...(people ? { healthTopic: t.health } : {}) }))
      mqtt.publishRetained(m.topic, m.payload);
    log.info('Home Assistant discovery published', { prefix: config.homeassistant.prefix, cameras: facesCameras });
  }
  const pipelineOptions = {
    cameras: config.cameras,
    faces: {
      ...(f.scoreThreshold > 0 ? { scoreThreshold: f.scoreThreshold } : {}),
      ...(f.iouThreshold > 0 ? { iouThreshold: f.iouThreshold } : {}),
      margin: f.margin,
      maxFaces: f.maxFaces,
      minFaceSize: f.minFaceSize,
    },
    ffmpegPath: ffmpeg.path,
    rtspTimeoutSec: config.source.rtspTimeoutSec,
    stallSec: config.watchdog.frameStallSec,
    restartMinMs: config.watchdog.restartMinMs,
    restartMaxMs: config.watchdog.restartMaxMs,
    healthyResetSec: config.watchdog.healthyResetSec,
    frames,
    batch: { maxFrames: engineBatchFrames(config.engine), waitMs: config.engine.batch.waitMs },
    ...(people ? { people } : {}),
    frameLabelMinFace: f.frameLabelMinFace,
  };
  const pipeline = new Pipeline(pipelineOptions, manifest, engine, sink, log.child({ part: 'pipeline' }));
  swap = new ModelSwap(engine, makeEngine, pipeline, log.child({ part: 'swap' }));
  const currentSwap = swap;
  const wd = await life.add('watchdog', () => {
    const w = new Watchdog(config.watchdog, { pipeline, get engine() { return currentSwap.current; }, mqtt, healthTopic: t.health, ...(people ? { people: (now: number) => people.counts.report(now) } : {}) }, log.child({ part: 'watchdog' }), opts.env ?? {});
    watchdog = w;
    w.start();
    return w;
  }, (w) => {
    w.stop(); // STOPPING=1; no more WATCHDOG=1
    w.close();
  });
  // A taken port must not stop the cameras: logged, and the daemon runs without /healthz.
  const httpServer = !config.http.port
    ? null
    : await life.add('http', async () => {
        const routes = [...(preview ? [(url: string, req: IncomingMessage, res: ServerResponse) => preview.handle(url, req, res)] : []), ...(dashboard ? [dashboard.route] : [])];
        const s = await startHttp(config.http.host, config.http.port, () => wd.report, metrics, routes, config.http.token, dashboard ? [dashboard.publicRoute] : []).catch((e) => {
          log.error('health/metrics server not started', { host: config.http.host, port: config.http.port, err: (e as Error).message });
          return null;
        });
        if (s) {
          const base = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${s.port}`;
          log.info('health and metrics', { url: `${base}/healthz`, metrics: `${base}/metrics` });
          log.info(`dashboard: open ${base}/${config.http.token ? '#token=<http token>' : ''} in a browser`, { url: `${base}/` });
        }
        return s;
      }, (s) => s?.close());

  // With OTA, a model that fails to load at start falls back to the last good version (ota/setup.ts).
  const load = async (path: string): Promise<Engine> => {
    const e = path === modelPath ? engine : makeEngine(path);
    try {
      await e.start();
      if (e !== engine) {
        await pipeline.useEngine(e, await readManifest(path));
        currentSwap.current = e;
        await engine.stop();
      }
      return e;
    } catch (err) {
      if (e !== engine) await e.stop().catch(() => undefined);
      throw err;
    }
  };
  await life.add('engine load', () => (otaStore ? startWithFallback(otaStore.store, config.ota.stateDir, load, log.child({ part: 'ota' })).then((r) => r.value) : load(modelPath)), () => {}); // stopped by the 'engine' part
  await life.add('pipeline', () => pipeline.start(), () => pipeline.stop());
  const ota = !otaStore
    ? null
    : await life.add('ota', () => {
        const o = new OtaDevice({ ...config.ota, site: config.site, deviceId: config.deviceId, groups: config.groups, trusted }, otaStore.store, currentSwap, pipeline, mqtt, log.child({ part: 'ota' }), { readings, resume: otaStore.resume });
        o.start();
        return o;
      }, (o) => o.stop());

  return {
    mqttUrl,
    pipeline,
    facesOut,
    people,
    get engine() {
      return currentSwap.current;
    },
    mqtt,
    frames,
    watchdog: wd,
    http: httpServer,
    dashboard,
    swap,
    ota,
    stop: () => life.stop(),
  };
}

function startFrames(log: Logger): SharedFrames {
  const s = new SharedFrames();
  s.on('exit', (reason: string) => log.error('frame reader died; every camera restarts its stream', { reason }));
  s.start();
  log.info('frame slots', { dir: s.dir, ...(s.swept.length ? { sweptStale: s.swept } : {}) });
  return s;
}

/** Stop the reader; a slot still held by a frame at this point is a leak, and is said so. */
async function stopFrames(s: SharedFrames, log: Logger): Promise<void> {
  await new Promise((r) => setImmediate(r)); // the engine's last rejections release their frames first
  const st = s.stop();
  if (st.held) log.warn('frame slots still held at stop (a leak)', { ...st });
  else log.info('frame slots all returned at stop', { ...st });
}
