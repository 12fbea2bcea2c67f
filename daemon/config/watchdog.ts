// The `watchdog`, `http` and `outbox` config sections (schema parts used by config.ts), and the
// migration of the older keys: source.stallSec, source.restartMinMs, source.restartMaxMs and
// engine.inferenceTimeoutMs still work; a file that sets one of them and not its watchdog.* twin
// gets its value there. Pure.

export interface WatchdogConfig {
  /** No frame for this long restarts the camera process (s). Was source.stallSec. */
  frameStallSec: number;
  /** Restart backoff for cameras and the engine (ms), jittered, doubling. Were source.restartMinMs/MaxMs. */
  restartMinMs: number;
  restartMaxMs: number;
  /** A run this long without trouble resets the backoff and clears a failed budget (s). */
  healthyResetSec: number;
  /** An inference running longer kills the worker (ms). Was engine.inferenceTimeoutMs. */
  inferenceTimeoutMs: number;
  /** Engine heartbeat: a ping this often while idle (ms); no pong within heartbeatTimeoutMs kills the worker. */
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  /** Error storm: this many engine errors within errorStormWindowSec kill and restart the worker. */
  errorStormCount: number;
  errorStormWindowSec: number;
  /** Restart budget per component: more than budgetRestarts in budgetWindowSec marks it failed. */
  budgetRestarts: number;
  budgetWindowSec: number;
  /** The engine not ready this long is unhealthy on its own (s). */
  engineDownSec: number;
  /** Health report on {site}/{deviceId}/health every this many seconds, and on change. */
  healthIntervalSec: number;
  /** READY=1 after the model is loaded and the first frame is processed, or after this long (s). */
  readyTimeoutSec: number;
  /** A model load (open + warm-up) taking longer kills the worker (s)… */
  loadTimeoutSec: number;
  /** …unless the worker said it is building an engine (TensorRT, no cached engine): then this long (s). */
  buildTimeoutSec: number;
}

export interface HttpConfig {
  /** /healthz and /metrics; 0 = off. */
  port: number;
  host: string;
}

export interface OutboxConfig {
  /** Folder for outbox.json ("" = memory only); systemd's StateDirectory= sets STATE_DIRECTORY. */
  dir: string;
  maxMessages: number;
}

const fail = (msg: string): never => {
  throw new Error(msg);
};

const intRange =
  (min: number, max: number) =>
  (x: unknown): void => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) fail(`must be an integer ${min}..${max}`);
  };

const str = (x: unknown): void => {
  if (typeof x !== 'string') fail('must be a string');
  if (/[\r\n\0]/.test(x as string)) fail('must not contain newlines or NUL');
};

export const watchdogSchema = {
  frameStallSec: { doc: 'No frame for this long restarts the camera process (s). Replaces source.stallSec.', format: intRange(1, 3600), default: 15 },
  restartMinMs: { doc: 'First restart delay for cameras and the engine (ms); doubles, with jitter, up to restartMaxMs.', format: intRange(100, 3_600_000), default: 1000 },
  restartMaxMs: { doc: 'Longest restart delay (ms).', format: intRange(100, 3_600_000), default: 30_000 },
  healthyResetSec: { doc: 'A run this long without trouble resets the backoff and clears a failed restart budget (s).', format: intRange(1, 3600), default: 30 },
  inferenceTimeoutMs: { doc: 'An inference running longer kills the engine worker (ms). Replaces engine.inferenceTimeoutMs.', format: intRange(100, 600_000), default: 10_000 },
  heartbeatMs: { doc: 'Engine heartbeat: ping the idle worker this often (ms).', format: intRange(100, 600_000), default: 5000 },
  heartbeatTimeoutMs: { doc: 'No pong within this long kills the worker (ms).', format: intRange(100, 600_000), default: 5000 },
  errorStormCount: { doc: 'This many engine errors within errorStormWindowSec restart the worker.', format: intRange(1, 100_000), default: 20 },
  errorStormWindowSec: { doc: 'Error storm window (s).', format: intRange(1, 3600), default: 10 },
  budgetRestarts: { doc: 'Restart budget: more restarts than this within budgetWindowSec mark a component failed (systemd watchdog no longer fed).', format: intRange(1, 10_000), default: 5 },
  budgetWindowSec: { doc: 'Restart budget window (s).', format: intRange(1, 86_400), default: 60 },
  engineDownSec: { doc: 'The engine not ready this long is unhealthy on its own (s).', format: intRange(1, 86_400), default: 60 },
  healthIntervalSec: { doc: 'Health report on {site}/{deviceId}/health every this many seconds (and on change).', format: intRange(1, 86_400), default: 10 },
  readyTimeoutSec: { doc: 'READY=1 after the model is loaded and a first frame is processed, or after this long if no camera delivers (s, counted from the engine being ready).', format: intRange(1, 3600), default: 30 },
  loadTimeoutSec: { doc: 'A model load (open + warm-up inference) taking longer kills the engine worker (s); its start (hello) gets at least 60 s.', format: intRange(1, 3600), default: 60 },
  buildTimeoutSec: { doc: 'A load during which the worker builds an engine (TensorRT without a cached engine: minutes on a Jetson) may take this long (s); systemd\'s start timeout is extended meanwhile (docs/ACCELERATORS.md).', format: intRange(1, 86_400), default: 3600 },
};

export const httpSchema = {
  port: { doc: '/healthz and /metrics port (0 = off).', format: intRange(0, 65535), default: 9464 },
  host: { doc: 'Address the health/metrics server binds (keep it local).', format: str, default: '127.0.0.1' },
};

export const outboxSchema = {
  dir: { doc: 'Folder for the state-event outbox (outbox.json); "" = memory only. Default: $STATE_DIRECTORY (systemd StateDirectory=).', format: str, default: '', env: 'STATE_DIRECTORY' },
  maxMessages: { doc: 'Most queued state events; beyond it the oldest are dropped and counted.', format: intRange(1, 1_000_000), default: 1000 },
};

/** Old key → new key. */
export const WATCHDOG_ALIASES: Record<string, keyof WatchdogConfig> = {
  'source.stallSec': 'frameStallSec',
  'source.restartMinMs': 'restartMinMs',
  'source.restartMaxMs': 'restartMaxMs',
  'engine.inferenceTimeoutMs': 'inferenceTimeoutMs',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The effective watchdog section: validated values, with an old key's value where the file set the
 * old key and not the new one. `file` is the raw file content, `merged` the validated config.
 */
export function migrateWatchdog(file: Obj, merged: Obj): WatchdogConfig {
  const wd = { ...(merged.watchdog as WatchdogConfig) };
  const fileWd = isObj(file.watchdog) ? file.watchdog : {};
  for (const [old, key] of Object.entries(WATCHDOG_ALIASES)) {
    const [group, leaf] = old.split('.');
    const fileGroup = file[group];
    if (!isObj(fileGroup) || fileGroup[leaf] === undefined || fileWd[key] !== undefined) continue;
    const v = (merged[group] as Obj | undefined)?.[leaf];
    if (typeof v === 'number') (wd as unknown as Obj)[key] = v;
  }
  return wd;
}
