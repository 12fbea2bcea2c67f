// Daemon configuration: schema (convict), defaults, env overrides, validation that reports
// every problem at once, model-path resolution and secret masking.
//
// Pure with respect to the process: the environment and the package root are passed in,
// nothing here reads process.env, process.argv or calls process.exit.

import fs from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import { parseManifest, ManifestError, modelFiles } from '../../models/manifest.js';
import { PROVIDER_NAMES, type ProviderName } from '../../pipelines/engines/onnxruntime/providers.js';
import { checkSecurity, httpSecuritySchema, mqttSecuritySchema, securitySchema, type HttpSecurityConfig, type MqttSecurityConfig, type SecurityConfig } from './security.js';
import { httpSchema, migrateWatchdog, outboxSchema, watchdogSchema, type HttpConfig, type OutboxConfig, type WatchdogConfig } from './watchdog.js';
import { BACKENDS, backendOf, checkBackend, type Backend } from './backend.js';
import { peopleSchema } from './people.js';
import { FRAME_LABEL_MIN_FACE } from '../../pipelines/face-events.js';

import { isSecretKey } from '../secrets.js';
import { bool, CAMERAS_MARKER, executionProviders, fail, intRange, mqttUrl, numRange, oneOf, parseConvictErrors, qosFormat, schemaPaths, stringFormat, structural, topicSafe, type SchemaTree } from './convict.js';
import { CAMERA_FPS_DEFAULT, FRAME_DEFAULT, MASK, checkCameras, defaultCameras, isFile, isObj, maskUrl, resolveMotion, show, type CameraConfig, type CameraMode, type Obj } from './cameras.js';
export { isSecretKey } from '../secrets.js';
export { CAMERA_DECODERS, CAMERA_MODES, DEMO_CLIP, DEMO_SCENES_CLIP, FRAME_DEFAULT, MOTION_DEFAULT, checkCameras, checkMotion, checkRoi, defaultCameras, maskUrl } from './cameras.js';
export type { CameraConfig, CameraDecoder, CameraMode, CameraMotion } from './cameras.js';
import { groupsFormat, otaSchema } from '../ota/config.js';
export const DEFAULT_MODEL = 'models/mask-mobilenet/model.json';
export const DEFAULT_DETECTOR = 'models/ultraface-masked-rfb-640/model.json';

export type { Config, ConfigProblem, ExecutionProvider, ExecutionProviderEntry, LogLevel, OtaConfig } from './types.js';
export { ConfigError } from './types.js';
import { ConfigError, type Config, type ConfigProblem, type ExecutionProvider, type ExecutionProviderEntry, type LogLevel } from './types.js';

export const ENV_VARS = {
  site: 'MOBILENET_EDGE_SITE',
  deviceId: 'MOBILENET_EDGE_DEVICE_ID',
  'mqtt.url': 'MOBILENET_EDGE_MQTT_URL',
  'mqtt.username': 'MOBILENET_EDGE_MQTT_USERNAME',
  'mqtt.password': 'MOBILENET_EDGE_MQTT_PASSWORD',
  'mqtt.qos': 'MOBILENET_EDGE_MQTT_QOS',
  'model.path': 'MOBILENET_EDGE_MODEL',
  'log.level': 'MOBILENET_EDGE_LOG_LEVEL',
} as const;

export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = PROVIDER_NAMES;
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const CLIENT_ID = /^[A-Za-z0-9_.:-]{0,128}$/;

// ---------------------------------------------------------------------------------------
// Schema

function buildSchema(defaultCameras: CameraConfig[], requireCamera: boolean, cameraProblems: ConfigProblem[], providerProblems: ConfigProblem[], backend: Backend) {
  return {
    site: { doc: 'Site name, used in MQTT topics.', format: topicSafe, default: 'site', env: ENV_VARS.site },
    deviceId: { doc: 'This device, used in MQTT topics.', format: topicSafe, default: 'edge-1', env: ENV_VARS.deviceId },
    groups: { doc: 'Groups this device belongs to (update bundles may target a group).', format: groupsFormat, default: [] as string[] },
    mqtt: {
      url: {
        doc: 'Broker URL (mqtt://, mqtts://, ws://, wss://). "" runs an embedded broker on 127.0.0.1:mqtt.embeddedPort.',
        format: mqttUrl,
        default: '',
        env: ENV_VARS['mqtt.url'],
        // the URL may carry credentials: keep convict from echoing the raw value (the format masks it)
        sensitive: true,
      },
      username: { doc: 'Broker user name ("" = none).', format: stringFormat(false), default: '', env: ENV_VARS['mqtt.username'] },
      password: { doc: 'Broker password ("" = none).', format: stringFormat(false), default: '', env: ENV_VARS['mqtt.password'], sensitive: true },
      qos: { doc: 'QoS of published results: 0, 1 or 2.', format: qosFormat, default: 1, env: ENV_VARS['mqtt.qos'] },
      clientId: { doc: 'MQTT client id; "" = "<site>-<deviceId>".', format: (x: unknown) => {
        if (typeof x !== 'string' || !CLIENT_ID.test(x)) fail('must be at most 128 characters from A-Z a-z 0-9 _ . : -');
      }, default: '' },
      keepaliveSec: { doc: 'MQTT keepalive in seconds (0 = off).', format: intRange(0, 65535), default: 30 },
      reconnectMinMs: { doc: 'First reconnect delay (ms); doubles up to reconnectMaxMs.', format: intRange(100, 3_600_000), default: 1000 },
      reconnectMaxMs: { doc: 'Longest reconnect delay (ms).', format: intRange(100, 3_600_000), default: 30_000 },
      embeddedPort: { doc: 'Port of the embedded broker (used only when url is "").', format: intRange(0, 65535), default: 1883 },
      ...mqttSecuritySchema,
    },
    cameras: {
      doc: 'Cameras: [{ id, url (rtsp://, rtsps://, file://), fps (1..60, default 10), loop (default false), decoder (ffmpeg | gstreamer-nv | gstreamer-sw, default ffmpeg), mode, frameWidth, frameHeight, roi, motion }] (docs/CONFIG.md).',
      format: (x: unknown) => {
        const p = checkCameras(x, requireCamera);
        if (p.length) {
          cameraProblems.push(...p);
          fail(CAMERAS_MARKER);
        }
      },
      default: defaultCameras,
    },
    model: {
      path: {
        doc: 'model.json of the model to run (relative: to the config file folder, else to the package root).',
        format: stringFormat(true),
        default: DEFAULT_MODEL,
        env: ENV_VARS['model.path'],
      },
    },
    engine: {
      backend: { doc: 'Inference backend.', format: oneOf(BACKENDS), default: 'onnxruntime' },
      executionProviders: {
        doc: 'Execution providers in order of preference: cpu, cuda, tensorrt, each a name or {"name": ..., options} (docs/ACCELERATORS.md).',
        format: executionProviders(providerProblems, backend),
        default: ['cpu'],
      },
      threads: { doc: 'Intra-op threads of each engine session (0 = the library default: one per core). 1 is the cheapest CPU per frame (docs/DECISIONS.md D21).', format: intRange(0, 1024), default: 1 },
      workers: { doc: 'Engine worker processes serving frames side by side (0 = auto: one per core up to 4 on the CPU provider, 1 with the Edge TPU or CUDA/TensorRT first; docs/DECISIONS.md D25).', format: intRange(0, 16), default: 0 },
      inferenceTimeoutMs: { doc: 'Inference timeout (ms); a longer inference counts as failed.', format: intRange(100, 600_000), default: 10_000 },
      batch: {
        maxFrames: { doc: 'Faces mode: up to this many frames of different cameras in one engine request (1 = no batching; 0 = auto: 4 on the CPU provider, 1 with the Edge TPU or CUDA/TensorRT first; docs/DECISIONS.md D23, D148).', format: intRange(0, 16), default: 0 },
        waitMs: { doc: 'With batching: wait at most this long (ms, from the oldest waiting frame) for a full batch; 0 = never wait: frames already waiting go together, shared among the free workers.', format: intRange(0, 1000), default: 0 },
      },
    },
    source: {
      ffmpegPath: { doc: 'ffmpeg binary; "" = ffmpeg on PATH, else the bundled @ffmpeg-installer one.', format: stringFormat(false), default: '' },
      rtspTimeoutSec: { doc: 'RTSP connect / read timeout (s).', format: intRange(1, 600), default: 10 },
      stallSec: { doc: 'No frame for this long restarts the camera ffmpeg (s).', format: intRange(1, 3600), default: 15 },
      restartMinMs: { doc: 'First ffmpeg restart delay (ms); doubles up to restartMaxMs.', format: intRange(100, 3_600_000), default: 1000 },
      restartMaxMs: { doc: 'Longest ffmpeg restart delay (ms).', format: intRange(100, 3_600_000), default: 30_000 },
    },
    faces: {
      detector: { doc: 'model.json of the face detector (task "detect") for cameras in faces mode.', format: stringFormat(true), default: DEFAULT_DETECTOR },
      scoreThreshold: { doc: 'Detector score threshold (0 = the detector manifest\'s).', format: numRange(0, 0.999), default: 0 },
      iouThreshold: { doc: 'NMS IoU threshold (0 = the detector manifest\'s).', format: numRange(0, 0.999), default: 0 },
      margin: { doc: 'Crop margin around a face, a fraction of its longer side on each side.', format: numRange(0, 2), default: 0.2 },
      maxFaces: { doc: 'At most this many faces per frame are classified (best detector scores).', format: intRange(1, 256), default: 32 },
      minFaceSize: { doc: 'Faces smaller than this many pixels (working resolution) are ignored.', format: intRange(1, 1024), default: 8 },
      frameLabelMinFace: { doc: 'Faces shorter than this (px, working resolution) make the frame label only when no face in the frame is taller (0 = every face; docs/DECISIONS.md D121).', format: intRange(0, 1024), default: FRAME_LABEL_MIN_FACE },
      stateHysteresis: { doc: 'The state topic changes after this many consecutive frames agree.', format: intRange(1, 1000), default: 5 },
      publish: { doc: 'Per-frame results: every | rate (at most publishMaxHz) | change (label or face count changed).', format: oneOf(['every', 'rate', 'change']), default: 'every' },
      publishMaxHz: { doc: 'Rate limit for publish = rate.', format: numRange(0.01, 100), default: 2 },
    },
    people: peopleSchema,
    homeassistant: {
      enabled: { doc: 'Publish Home Assistant MQTT discovery configs (retained) for each camera.', format: bool, default: false },
      prefix: { doc: 'Home Assistant discovery prefix.', format: topicSafe, default: 'homeassistant' },
    },
    preview: {
      enabled: { doc: 'Serve /preview (MJPEG per camera with boxes) on the http server; encodes only while watched.', format: bool, default: false },
      fps: { doc: 'Most preview frames per second per camera.', format: numRange(0.1, 10), default: 2 },
      quality: { doc: 'Preview JPEG quality.', format: intRange(10, 95), default: 70 },
    },
    log: { level: { doc: 'Log level.', format: oneOf(LOG_LEVELS), default: 'info', env: ENV_VARS['log.level'] } },
    watchdog: watchdogSchema,
    http: { ...httpSchema, ...httpSecuritySchema },
    security: securitySchema,
    outbox: outboxSchema,
    ota: otaSchema,
  };
}

// ---------------------------------------------------------------------------------------
// Files

function jsonErrorText(e: Error, text: string): string {
  const msg = e.message;
  const m = /at position (\d+)/.exec(msg);
  if (!m || /line \d+/.test(msg)) return msg;
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return `${msg} (line ${before.length} column ${before[before.length - 1].length + 1})`;
}

function readJson(file: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, message: `file not found (${path.resolve(file)})` };
    if (code === 'EISDIR') return { ok: false, message: 'is a directory, expected a JSON file' };
    return { ok: false, message: `cannot read: ${(e as Error).message}` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, message: `invalid JSON: ${jsonErrorText(e as Error, text)}` };
  }
}

/**
 * Resolve model.path to an absolute model.json and check it: the manifest must parse and the
 * model file it names must exist beside it. Relative paths: the config file's folder first, then
 * packageRoot (where the bundled models live). A directory means <directory>/model.json.
 */
function resolveModel(p: string, configDir: string | undefined, packageRoot: string, problems: ConfigProblem[], at = 'model.path', task: 'classify' | 'detect' = 'classify'): string {
  const bases = path.isAbsolute(p) ? [''] : configDir !== undefined ? [configDir, packageRoot] : [packageRoot];
  const candidates = [...new Set(bases.map((b) => (b ? path.resolve(b, p) : path.resolve(p))))];
  let found = candidates.find((c) => fs.existsSync(c));
  if (!found) {
    problems.push({ path: at, message: `${show(p)} not found (looked for ${candidates.join(', ')})` });
    return candidates[candidates.length - 1];
  }
  if (fs.statSync(found).isDirectory()) {
    found = path.join(found, 'model.json');
    if (!isFile(found)) {
      problems.push({ path: at, message: `${found} not found` });
      return found;
    }
  }
  const json = readJson(found);
  if (!json.ok) {
    problems.push({ path: at, message: `${found}: ${json.message}` });
    return found;
  }
  try {
    const m = parseManifest(json.value, found);
    if (m.task !== task) problems.push({ path: at, message: `${found} is a "${m.task}" model; expected task "${task}"` });
    for (const ref of modelFiles(m)) {
      const modelFile = path.join(path.dirname(found), ref.file);
      if (!isFile(modelFile)) problems.push({ path: at, message: `model file ${modelFile} (named by ${found}) not found` });
    }
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    for (const mp of e.problems) problems.push({ path: at, message: `${found}: invalid manifest: ${mp}` });
  }
  return found;
}

// ---------------------------------------------------------------------------------------
// Public API

/**
 * Load, merge (defaults < file < env) and validate the configuration.
 *
 * - `file` absent: the embedded default (demo clip camera, embedded broker, bundled model).
 * - `env`: the environment to read MOBILENET_EDGE_* overrides from. Absent = no overrides
 *   (the daemon passes process.env explicitly).
 * - `packageRoot`: the installed package folder (bundled models and demo clip).
 *
 * Throws ConfigError listing every problem found.
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; packageRoot: string; warn?: (msg: string) => void }): Config {
  const env = opts.env ?? {};
  const packageRoot = path.resolve(opts.packageRoot);
  const problems: ConfigProblem[] = [];
  const cameraProblems: ConfigProblem[] = [];
  const providerProblems: ConfigProblem[] = [];

  let fileContent: Obj = {};
  if (opts.file !== undefined) {
    const json = readJson(opts.file);
    if (!json.ok) throw new ConfigError([{ path: opts.file, message: json.message }]);
    if (!isObj(json.value)) throw new ConfigError([{ path: opts.file, message: `expected a JSON object, got ${Array.isArray(json.value) ? 'an array' : show(json.value)}` }]);
    fileContent = json.value;
  }

  const hasFile = opts.file !== undefined;
  const schema = buildSchema(hasFile ? [] : defaultCameras(packageRoot), hasFile, cameraProblems, providerProblems, backendOf(fileContent));
  const tree = schema as unknown as SchemaTree;
  const loadable = structural(fileContent, tree, '', problems);

  const conf = convict<Config>(schema as unknown as convict.Schema<Config>, { env, args: [] });
  conf.load(loadable);
  try {
    conf.validate({ allowed: 'strict', output: () => {} });
  } catch (e) {
    problems.push(...parseConvictErrors((e as Error).message, schemaPaths(tree), env, ENV_VARS));
  }
  problems.push(...cameraProblems, ...providerProblems);

  const c = conf.getProperties();

  // cross-field checks, only when both values are individually valid
  const bad = new Set(problems.map((p) => p.path));
  const ordered = (lo: string, hi: string, a: unknown, b: unknown) => {
    if (!bad.has(lo) && !bad.has(hi) && typeof a === 'number' && typeof b === 'number' && a > b)
      problems.push({ path: lo, message: `must not exceed ${hi} (${a} > ${b})` });
  };
  ordered('mqtt.reconnectMinMs', 'mqtt.reconnectMaxMs', c.mqtt?.reconnectMinMs, c.mqtt?.reconnectMaxMs);
  ordered('source.restartMinMs', 'source.restartMaxMs', c.source?.restartMinMs, c.source?.restartMaxMs);
  ordered('watchdog.restartMinMs', 'watchdog.restartMaxMs', c.watchdog?.restartMinMs, c.watchdog?.restartMaxMs);

  let modelPath = '';
  if (!bad.has('model.path') && typeof c.model?.path === 'string' && c.model.path !== '') {
    const configDir = hasFile ? path.dirname(path.resolve(opts.file!)) : undefined;
    modelPath = resolveModel(c.model.path, configDir, packageRoot, problems);
  }

  const cameras = c.cameras.map((cam) => {
    const mode: CameraMode = cam.mode ?? 'faces';
    return {
      id: cam.id,
      url: cam.url,
      fps: cam.fps ?? CAMERA_FPS_DEFAULT,
      loop: cam.loop ?? false,
      mode,
      ...(mode === 'faces' ? { frameWidth: cam.frameWidth ?? FRAME_DEFAULT.width, frameHeight: cam.frameHeight ?? FRAME_DEFAULT.height } : {}),
      ...(cam.decoder && cam.decoder !== 'ffmpeg' ? { decoder: cam.decoder } : {}),
      ...(cam.roi ? { roi: cam.roi } : {}),
      // faces mode only; a disabled block on a classify camera is accepted and dropped
      ...(cam.motion && mode === 'faces' ? { motion: resolveMotion(cam.motion) } : {}),
    };
  });
  let detectorPath = c.faces?.detector ?? '';
  if (cameras.some((cam) => cam.mode === 'faces') && !bad.has('faces.detector') && detectorPath) {
    const configDir = hasFile ? path.dirname(path.resolve(opts.file!)) : undefined;
    detectorPath = resolveModel(detectorPath, configDir, packageRoot, problems, 'faces.detector', 'detect');
  }

  if (!bad.has('engine.backend')) problems.push(...checkBackend(c.engine.backend, cameras, modelPath, c.engine.workers, cameras.some((cam) => cam.mode === 'faces') ? detectorPath : ''));

  const fsAccess = { stat: (p: string) => (fs.existsSync(p) ? fs.statSync(p) : null), read: (p: string) => fs.readFileSync(p, 'utf8') };
  const sec = bad.size ? null : checkSecurity(c, { file: opts.file, fileContent, env, fs: fsAccess, ownGid: process.getgid?.() ?? 0 });
  if (sec) problems.push(...sec.problems);
  if (problems.length) throw new ConfigError(problems);
  for (const w of sec?.warnings ?? []) opts.warn?.(w);

  return {
    ...c,
    mqtt: { ...c.mqtt, ...sec?.mqtt, clientId: c.mqtt.clientId || `${c.site}-${c.deviceId}` },
    http: { ...c.http, ...sec?.http },
    cameras,
    model: { path: modelPath },
    watchdog: migrateWatchdog(fileContent, c as unknown as Obj),
    faces: { ...c.faces, detector: detectorPath },
  };
}

/**
 * Deep copy for display: non-empty values of secret-named keys (password, secret, token, *Key...)
 * become "********", and so does the password part of any URL with credentials
 * (mqtt.url, camera URLs: scheme://user:pass@host).
 */
export function maskSecrets(c: Config): unknown {
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (key !== undefined && isSecretKey(key) && v !== '' && v !== null && v !== undefined && typeof v !== 'object') return MASK;
    if (typeof v === 'string') return maskUrl(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
    if (isObj(v)) {
      const o: Obj = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x, k);
      return o;
    }
    return v;
  };
  return walk(c, undefined);
}
