// The daemon's configuration as types: what loadConfig (config.ts) returns, and its problems.
import type { ProviderName } from '../../pipelines/engines/onnxruntime/providers.js';
import type { HttpSecurityConfig, MqttSecurityConfig, SecurityConfig } from './security.js';
import type { HttpConfig, OutboxConfig, WatchdogConfig } from './watchdog.js';
import type { Backend } from './backend.js';
import type { CameraConfig } from './cameras.js';
import type { PeopleConfig } from './people.js';
import type { OtaConfig } from '../ota/config.js';
export type { OtaConfig } from '../ota/config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ExecutionProvider = ProviderName;
/** A provider by name, or with options: {"name": "tensorrt", "fp16": true, "engineCacheDir": "/var/lib/..."}. */
export type ExecutionProviderEntry = ExecutionProvider | { name: ExecutionProvider; [option: string]: unknown };

export interface Config {
  site: string;
  deviceId: string;
  /** Device groups: update targets may name them (models/update-meta.ts); shown on model/state. */
  groups: string[];
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
  engine: { backend: Backend; executionProviders: ExecutionProviderEntry[]; threads: number; workers: number; inferenceTimeoutMs: number; batch: { maxFrames: number; waitMs: number } };
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
    /** Faces shorter than this (px) make the frame label only when no face is taller; 0 = every face (D121). */
    frameLabelMinFace: number;
    /** The state topic changes after this many consecutive frames agree. */
    stateHysteresis: number;
    /** Per-frame results: every frame, at most publishMaxHz, or only when label / face count change. */
    publish: 'every' | 'rate' | 'change';
    publishMaxHz: number;
  };
  /** Tracking, per-person events and counts (daemon/config/people.ts). */
  people: PeopleConfig;
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
