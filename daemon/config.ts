// Daemon configuration: schema (convict), defaults, env overrides, validation that reports
// every problem at once, model-path resolution and secret masking.
//
// Pure with respect to the process: the environment and the package root are passed in,
// nothing here reads process.env, process.argv or calls process.exit.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import convict from 'convict';
import { parseManifest, ManifestError, modelFiles } from '../models/manifest.js';
import { PROVIDER_NAMES, type ProviderName } from '../pipelines/engines/onnxruntime/providers.js';
import { checkSecurity, httpSecuritySchema, mqttSecuritySchema, securitySchema, type HttpSecurityConfig, type MqttSecurityConfig, type SecurityConfig } from './config-security.js';
import { httpSchema, migrateWatchdog, outboxSchema, watchdogSchema, type HttpConfig, type OutboxConfig, type WatchdogConfig } from './config-watchdog.js';
import { BACKENDS, backendOf, checkBackend, checkProvidersFor, type Backend } from './config-backend.js';

export const DEFAULT_MODEL = 'models/mask-mobilenet/model.json';
export const DEFAULT_DETECTOR = 'models/ultraface-rfb-320/model.json';
export const DEMO_CLIP = 'models/demo/demo.mp4';

export type CameraDecoder = 'ffmpeg' | 'gstreamer-nv' | 'gstreamer-sw';
export const CAMERA_DECODERS: readonly CameraDecoder[] = ['ffmpeg', 'gstreamer-nv', 'gstreamer-sw'];

export type CameraMode = 'classify' | 'faces';
export const CAMERA_MODES: readonly CameraMode[] = ['classify', 'faces'];

export interface CameraConfig {
  id: string;
  url: string;
  fps: number;
  loop: boolean;
  /**
   * classify: the whole frame (letterboxed to the model input) through the classifier.
   * faces: face detector, then each face classified; frames arrive at frameWidth x frameHeight.
   * Absent in a config file = faces; the embedded demo (no file) is classify.
   */
  mode: CameraMode;
  /** Working resolution of faces mode (letterboxed): boxes are in these pixels. Default 1280x720. */
  frameWidth?: number;
  frameHeight?: number;
  /** Who decodes: ffmpeg (default), GStreamer with Jetson hardware decode, GStreamer in software. */
  decoder?: CameraDecoder;
  /** classify mode: only this region [x, y, w, h] of the camera's picture (source pixels) is classified. */
  roi?: [number, number, number, number];
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ExecutionProvider = ProviderName;
/** A provider by name, or with options: {"name": "tensorrt", "fp16": true, "engineCacheDir": "/var/lib/..."}. */
export type ExecutionProviderEntry = ExecutionProvider | { name: ExecutionProvider; [option: string]: unknown };

export interface Config {
  site: string;
  deviceId: string;
  mqtt: {
    /** "" = run an embedded broker on 127.0.0.1:embeddedPort. */
    url: string;
    username: string;
    password: string;
    qos: 0 | 1 | 2;
    /** Never empty after loadConfig: "" in the file becomes "<site>-<deviceId>". */
    clientId: string;
    keepaliveSec: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
    embeddedPort: number;
  } & MqttSecurityConfig;
  cameras: CameraConfig[];
  /** path: absolute path of a model.json (resolved and checked by loadConfig). */
  model: { path: string };
  engine: { backend: Backend; executionProviders: ExecutionProviderEntry[]; threads: number; inferenceTimeoutMs: number };
  source: { ffmpegPath: string; rtspTimeoutSec: number; stallSec: number; restartMinMs: number; restartMaxMs: number };
  /** Faces mode: detector, crop, debounced state and publish rate (docs/CONFIG.md). */
  faces: {
    /** model.json of the detector (task "detect"); resolved to an absolute path like model.path. */
    detector: string;
    /** 0 = the detector manifest's value. */
    scoreThreshold: number;
    iouThreshold: number;
    margin: number;
    maxFaces: number;
    minFaceSize: number;
    /** The state topic changes after this many consecutive frames agree. */
    stateHysteresis: number;
    /** Per-frame results: every frame, at most publishMaxHz, or only when label / face count change. */
    publish: 'every' | 'rate' | 'change';
    publishMaxHz: number;
  };
  homeassistant: { enabled: boolean; prefix: string };
  /** Live MJPEG preview on the health/metrics HTTP server (/preview). Off by default. */
  preview: { enabled: boolean; fps: number; quality: number };
  log: { level: LogLevel };
  /** Supervision knobs (daemon/config-watchdog.ts); source.stallSec etc. are migrated into it. */
  watchdog: WatchdogConfig;
  http: HttpConfig & HttpSecurityConfig;
  /** daemon/config-security.ts, docs/SECURITY.md */
  security: SecurityConfig;
  outbox: OutboxConfig;
  /** Over-the-air models (docs/OTA.md). */
  ota: OtaConfig;
}

export interface OtaConfig {
  enabled: boolean;
  /** Holds models/<name>/<version>/, store.json, staging/ and inbox/ (local pushes). */
  stateDir: string;
  /** Trusted ed25519 public keys: PEM text or paths of PEM files (relative to the working directory). */
  trustedKeys: string[];
  /** Development only: accept unsigned / untrusted bundles (hashes are still checked). Logged loudly. */
  allowUnsigned: boolean;
  maxBundleBytes: number;
  /** Free space that must remain on the state dir's file system after staging and installing a bundle. */
  minFreeBytes: number;
  transferTimeoutSec: number;
  /** Installed versions kept besides active and previous. */
  keepVersions: number;
  probationSec: number;
  /** During probation: failed/taken frames above this rolls back (0..1). */
  probationMaxErrorRate: number;
  probationMinFrames: number;
  /** How often the inbox for local pushes (edgectl push --local) is looked at. */
  localPollMs: number;
  /** Signed MQTT commands (rollback) older than this, or reused, are refused (s). */
  commandMaxAgeSec: number;
}

export interface ConfigProblem {
  /** Key path, e.g. "cameras[1].url" or "mqtt.qos"; for file-level problems, the config file path. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

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
const TOPIC_SAFE = /^[A-Za-z0-9_-]{1,64}$/;
const CAMERA_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CLIENT_ID = /^[A-Za-z0-9_.:-]{0,128}$/;
const CAMERA_KEYS = ['id', 'url', 'fps', 'loop', 'decoder', 'mode', 'frameWidth', 'frameHeight', 'roi'];
export const FRAME_DEFAULT = { width: 1280, height: 720 } as const;
const CAMERA_FPS_DEFAULT = 10;
const MASK = '********';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A region of interest: [x, y, w, h], integers, w and h ≥ 16, classify mode with ffmpeg only. */
export function checkRoi(roi: unknown, mode: unknown, decoder: unknown): string[] {
  if (!Array.isArray(roi) || roi.length !== 4 || !roi.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0))
    return [`must be [x, y, width, height] in the camera's pixels, non-negative integers (got ${show(roi)})`];
  const out: string[] = [];
  if (roi[2] < 16 || roi[3] < 16) out.push(`width and height must be at least 16 (got ${roi[2]}x${roi[3]})`);
  if (mode !== 'classify') out.push('a region of interest applies to "mode": "classify" (faces mode looks at the whole frame)');
  if (decoder !== undefined && decoder !== 'ffmpeg') out.push('a region of interest needs decoder "ffmpeg"');
  return out;
}

// ---------------------------------------------------------------------------------------
// URL helpers

/** Replace the password of a URL's userinfo (scheme://user:pass@host) with ********. */
export function maskUrl(s: string): string {
  return s.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*):([^/?#@]+)@/, `$1:${MASK}@`);
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(maskUrl(v)) : JSON.stringify(v) ?? String(v));

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/** Problem with a camera URL, or undefined when it is fine. */
function cameraUrlProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return 'expected a non-empty URL string (rtsp://, rtsps:// or file://)';
  const u = parseUrl(v);
  const bad = `${show(v)} is not an rtsp://, rtsps:// or file:// URL`;
  if (!u) return bad;
  if (u.protocol === 'rtsp:' || u.protocol === 'rtsps:') return u.hostname ? undefined : `${show(v)} has no host`;
  if (u.protocol !== 'file:') return bad;
  if (u.hostname !== '') return `${show(v)} must be an absolute file URL (file:///path/to/clip.mp4)`;
  let p: string;
  try {
    p = fileURLToPath(u);
  } catch (e) {
    return `${show(v)} is not a usable file URL (${(e as Error).message})`;
  }
  if (!isFile(p)) return `clip ${p} not found`;
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Convict formats. They throw one-line messages; convict prefixes the key path.

const fail = (msg: string): never => {
  throw new Error(msg);
};

const topicSafe = (x: unknown): void => {
  if (typeof x !== 'string' || !TOPIC_SAFE.test(x)) fail('must be 1-64 characters from A-Z a-z 0-9 _ - (it is used in MQTT topics)');
};

const intRange =
  (min: number, max: number) =>
  (x: unknown): void => {
    if (typeof x === 'number' && Number.isNaN(x)) fail(`must be an integer ${min}..${max} (got a non-number)`);
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) fail(`must be an integer ${min}..${max}`);
  };

const stringFormat = (nonEmpty: boolean) => (x: unknown): void => {
  if (typeof x !== 'string') fail('must be a string');
  if (nonEmpty && x === '') fail('must not be empty');
  if (/[\r\n\0]/.test(x as string)) fail('must not contain newlines or NUL');
};

const mqttUrl = (x: unknown): void => {
  if (typeof x !== 'string') fail('must be a string ("" = embedded broker)');
  const s = x as string;
  if (s === '') return;
  const u = parseUrl(s);
  if (!u || !['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol)) fail(`${show(s)} is not an mqtt://, mqtts://, ws:// or wss:// URL`);
  if (!u!.hostname) fail(`${show(s)} has no host`);
};

const numRange =
  (min: number, max: number) =>
  (x: unknown): void => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) fail(`must be a number ${min}..${max}`);
  };

const bool = (x: unknown): void => {
  if (typeof x !== 'boolean') fail('must be true or false');
};

const qosFormat = (x: unknown): void => {
  if (x !== 0 && x !== 1 && x !== 2) fail('must be 0, 1 or 2');
};

/** Marker thrown by the executionProviders format; its detailed problems go to the collector. */
const PROVIDERS_MARKER = 'invalid execution provider list (see the per-entry problems)';

const executionProviders =
  (collector: ConfigProblem[], backend: Backend) =>
  (x: unknown): void => {
    const problems = checkProvidersFor(backend, x);
    if (!problems.length) return;
    collector.push(...problems.map((p) => ({ path: `engine.executionProviders${p.path}`, message: p.message })));
    fail(PROVIDERS_MARKER);
  };

const oneOf =
  (allowed: readonly string[]) =>
  (x: unknown): void => {
    if (typeof x !== 'string' || !allowed.includes(x)) fail(`must be one of ${allowed.join(', ')}`);
  };

/** Marker thrown by the cameras format; its detailed problems go to the collector instead. */
const CAMERAS_MARKER = 'invalid camera list (see the per-camera problems)';

/** Validate the camera array element by element, collecting every problem with its path. */
export function checkCameras(v: unknown, requireOne: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (!Array.isArray(v)) {
    out.push({ path: 'cameras', message: 'expected an array of cameras' });
    return out;
  }
  if (v.length === 0 && requireOne) out.push({ path: 'cameras', message: 'at least one camera is required' });
  const seen = new Map<string, number>();
  v.forEach((cam, i) => {
    const at = `cameras[${i}]`;
    if (!isObj(cam)) {
      out.push({ path: at, message: `expected an object with id, url, fps, loop; got ${show(cam)}` });
      return;
    }
    for (const k of Object.keys(cam)) if (!CAMERA_KEYS.includes(k)) out.push({ path: `${at}.${k}`, message: 'unknown key' });
    if (cam.id === undefined) {
      out.push({ path: `${at}.id`, message: 'missing: expected a camera id (1-64 characters from A-Z a-z 0-9 _ -)' });
    } else if (typeof cam.id !== 'string' || !CAMERA_ID.test(cam.id)) {
      out.push({ path: `${at}.id`, message: `${show(cam.id)} is not a camera id (1-64 characters from A-Z a-z 0-9 _ -)` });
    } else if (seen.has(cam.id)) {
      out.push({ path: `${at}.id`, message: `duplicate camera id "${cam.id}"` });
    } else seen.set(cam.id, i);
    const urlProblem = cameraUrlProblem(cam.url);
    if (urlProblem) out.push({ path: `${at}.url`, message: cam.url === undefined ? 'missing: expected an rtsp://, rtsps:// or file:// URL' : urlProblem });
    if (cam.fps !== undefined && (typeof cam.fps !== 'number' || !Number.isFinite(cam.fps) || cam.fps < 1 || cam.fps > 60))
      out.push({ path: `${at}.fps`, message: `must be a number 1..60 (got ${show(cam.fps)})` });
    if (cam.loop !== undefined && typeof cam.loop !== 'boolean') out.push({ path: `${at}.loop`, message: `must be true or false (got ${show(cam.loop)})` });
    if (cam.mode !== undefined && !CAMERA_MODES.includes(cam.mode as CameraMode))
      out.push({ path: `${at}.mode`, message: `must be one of ${CAMERA_MODES.join(', ')} (got ${show(cam.mode)})` });
    for (const [k, max] of [['frameWidth', 3840], ['frameHeight', 2160]] as const) {
      const v = cam[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 64 || v > max || v % 2 !== 0))
        out.push({ path: `${at}.${k}`, message: `must be an even integer 64..${max} (got ${show(v)})` });
    }
    if (cam.decoder !== undefined && !CAMERA_DECODERS.includes(cam.decoder as CameraDecoder))
      out.push({ path: `${at}.decoder`, message: `must be one of ${CAMERA_DECODERS.join(', ')} (got ${show(cam.decoder)})` });
    else if (cam.decoder !== undefined && cam.decoder !== 'ffmpeg' && cam.loop === true)
      out.push({ path: `${at}.loop`, message: 'looping a clip needs decoder "ffmpeg" (GStreamer sources restart at the end of a file instead)' });
    if (cam.roi !== undefined) out.push(...checkRoi(cam.roi, cam.mode, cam.decoder).map((message) => ({ path: `${at}.roi`, message })));
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Schema

function buildSchema(defaultCameras: CameraConfig[], requireCamera: boolean, cameraProblems: ConfigProblem[], providerProblems: ConfigProblem[], backend: Backend) {
  return {
    site: { doc: 'Site name, used in MQTT topics.', format: topicSafe, default: 'site', env: ENV_VARS.site },
    deviceId: { doc: 'This device, used in MQTT topics.', format: topicSafe, default: 'edge-1', env: ENV_VARS.deviceId },
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
      doc: 'Cameras: [{ id, url (rtsp://, rtsps://, file://), fps (1..60, default 10), loop (default false), decoder (ffmpeg | gstreamer-nv | gstreamer-sw, default ffmpeg) }].',
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
      threads: { doc: 'Intra-op threads (0 = library default).', format: intRange(0, 1024), default: 0 },
      inferenceTimeoutMs: { doc: 'Inference timeout (ms); a longer inference counts as failed.', format: intRange(100, 600_000), default: 10_000 },
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
      stateHysteresis: { doc: 'The state topic changes after this many consecutive frames agree.', format: intRange(1, 1000), default: 5 },
      publish: { doc: 'Per-frame results: every | rate (at most publishMaxHz) | change (label or face count changed).', format: oneOf(['every', 'rate', 'change']), default: 'every' },
      publishMaxHz: { doc: 'Rate limit for publish = rate.', format: numRange(0.01, 100), default: 2 },
    },
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
    ota: {
      enabled: { doc: 'Accept model pushes (MQTT and local inbox).', format: Boolean, default: false },
      stateDir: { doc: 'Model store folder.', format: stringFormat(true), default: '/var/lib/mobilenet-edge' },
      trustedKeys: {
        doc: 'Trusted ed25519 public keys: PEM text or PEM file paths.',
        format: (x: unknown) => {
          if (!Array.isArray(x) || !x.every((k) => typeof k === 'string' && k.trim() !== '')) fail('must be an array of PEM strings or PEM file paths');
        },
        default: [],
      },
      allowUnsigned: { doc: 'DEVELOPMENT ONLY: accept unsigned or untrusted bundles.', format: Boolean, default: false },
      maxBundleBytes: { doc: 'Largest bundle accepted (bytes).', format: intRange(1024, 4 * 1024 ** 3), default: 256 * 1024 ** 2 },
      minFreeBytes: { doc: 'Free space to keep on the state dir file system (bytes).', format: intRange(0, Number.MAX_SAFE_INTEGER), default: 64 * 1024 ** 2 },
      transferTimeoutSec: { doc: 'A transfer with no chunk for this long is dropped (s).', format: intRange(1, 3600), default: 60 },
      keepVersions: { doc: 'Installed versions kept besides active and previous.', format: intRange(0, 100), default: 3 },
      probationSec: { doc: 'After a swap, crashes or errors roll back for this long (s; 0 = off).', format: intRange(0, 86400), default: 300 },
      probationMaxErrorRate: {
        doc: 'Failed/taken frames above this during probation roll back.',
        format: (x: unknown) => {
          if (typeof x !== 'number' || !(x >= 0 && x <= 1)) fail('must be a number 0..1');
        },
        default: 0.2,
      },
      probationMinFrames: { doc: 'Frames needed before the error rate counts.', format: intRange(1, 1_000_000), default: 20 },
      localPollMs: { doc: 'How often the local inbox is checked (ms).', format: intRange(100, 60_000), default: 1000 },
      commandMaxAgeSec: { doc: 'Signed MQTT commands (rollback) older than this (s), or replayed, are refused.', format: intRange(5, 3600), default: 60 },
    },
  };
}

type SchemaTree = { [k: string]: SchemaTree | { default: unknown } };
const isLeaf = (n: unknown): boolean => isObj(n) && 'default' in n;

/** All key paths of the schema (groups and leaves). */
function schemaPaths(tree: SchemaTree, prefix = '', out = new Set<string>()): Set<string> {
  for (const [k, n] of Object.entries(tree)) {
    out.add(prefix + k);
    if (!isLeaf(n)) schemaPaths(n as SchemaTree, `${prefix}${k}.`, out);
  }
  return out;
}

/**
 * Structural pass over the file content before convict sees it: a group key (mqtt, engine...)
 * holding a non-object, or a key with a "." in it, would otherwise produce confusing convict
 * errors. Those keys are reported and dropped from the copy that is loaded.
 */
function structural(raw: Obj, tree: SchemaTree, prefix: string, problems: ConfigProblem[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(raw)) {
    const at = prefix + k;
    if (k.includes('.') || k === '__proto__' || k === 'constructor' || k === 'prototype') {
      problems.push({ path: at, message: 'unknown key' });
      continue;
    }
    const node = Object.prototype.hasOwnProperty.call(tree, k) ? tree[k] : undefined;
    if (node !== undefined && !isLeaf(node)) {
      if (!isObj(v)) {
        problems.push({ path: at, message: `expected an object, got ${show(v)}` });
        continue;
      }
      out[k] = structural(v, node as SchemaTree, `${at}.`, problems);
    } else out[k] = v;
  }
  return out;
}

/** Turn convict's validate() error text into problems, one per line. */
function parseConvictErrors(text: string, known: Set<string>, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const seen = new Set<string>();
  const envNote = (p: string): string => {
    const name = (ENV_VARS as Record<string, string>)[p];
    return name && env[name] !== undefined ? ` (from ${name})` : '';
  };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let m = /^configuration param '(.*)' not declared in the schema$/.exec(line);
    if (m) {
      // report the outermost unknown key: "mqtt.tls" rather than "mqtt.tls.ca" and "mqtt.tls.cert"
      const parts = m[1].split('.');
      let i = 1;
      while (i < parts.length && known.has(parts.slice(0, i).join('.'))) i++;
      const p = parts.slice(0, i).join('.');
      if (!seen.has(p)) out.push({ path: p, message: 'unknown key' });
      seen.add(p);
      continue;
    }
    m = /^configuration param '(.*)' missing from config/.exec(line);
    if (m) {
      out.push({ path: m[1], message: 'missing (its parent was replaced by a non-object?)' });
      continue;
    }
    m = /^([^:]+): (.*)$/.exec(line);
    if (!m) {
      out.push({ path: '(config)', message: line });
      continue;
    }
    const [, p, rest] = m;
    if (p === 'cameras' && rest.startsWith(CAMERAS_MARKER)) continue; // detailed problems come from the collector
    if (p === 'engine.executionProviders' && rest.startsWith(PROVIDERS_MARKER)) continue;
    const msg = rest.replace(/: value was (.*)$/, ' (got $1)');
    out.push({ path: p, message: msg + envNote(p) });
  }
  return out;
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

/** The cameras used when no config file is given: the bundled demo clip, looped. */
export function defaultCameras(packageRoot: string): CameraConfig[] {
  return [{ id: 'cam1', url: pathToFileURL(path.resolve(packageRoot, DEMO_CLIP)).href, fps: CAMERA_FPS_DEFAULT, loop: true, mode: 'classify' }];
}

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
    problems.push(...parseConvictErrors((e as Error).message, schemaPaths(tree), env));
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
    };
  });
  let detectorPath = c.faces?.detector ?? '';
  if (cameras.some((cam) => cam.mode === 'faces') && !bad.has('faces.detector') && detectorPath) {
    const configDir = hasFile ? path.dirname(path.resolve(opts.file!)) : undefined;
    detectorPath = resolveModel(detectorPath, configDir, packageRoot, problems, 'faces.detector', 'detect');
  }

  if (!bad.has('engine.backend')) problems.push(...checkBackend(c.engine.backend, cameras, modelPath));

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

/** Is a key name one whose value is a secret? (password, clientSecret, apiToken, privateKey, api_key...) */
export function isSecretKey(k: string): boolean {
  const l = k.toLowerCase();
  if (/(password|passwd|passphrase|secret|token|credentials?|apikey|api_key|privatekey|private_key)$/.test(l)) return true;
  if (l === 'key' || l === 'pass' || l === 'pwd') return true;
  return /[a-z0-9]Key$/.test(k) || /[_-]key$/i.test(k); // camelCase fooKey, snake/kebab foo_key
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
