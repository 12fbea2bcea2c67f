// `mobilenet-edge --check-config <file>` and `--print-config [file]`.
// Output goes through `out` (one call per line); the caller turns the return value into the exit code.

import mqtt from 'mqtt';
import { loadConfig, maskSecrets, ConfigError, type Config } from './config.js';
import { clientOptions, redact } from '../mqtt/link.js';
import { explainMqttError } from '../mqtt/errors.js';

/** sysexits.h EX_CONFIG: configuration error. */
export const EX_CONFIG = 78;

function load(file: string | undefined, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv, warn = out): Config | undefined {
  try {
    return loadConfig({ file, packageRoot, env, warn: (w) => warn(`config warning: ${w}`) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) out(`config error: ${p.path}: ${p.message}`);
    return undefined;
  }
}

/** sysexits.h EX_UNAVAILABLE: the broker could not be reached (not a config problem). */
export const EX_UNAVAILABLE = 69;

/** Validate a config file: prints "config OK: <file>" and returns 0, or one "config error: <path>: <message>" line per problem and returns 78. */
export function checkConfig(file: string, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv): number {
  if (!load(file, packageRoot, out, env)) return EX_CONFIG;
  out(`config OK: ${file}`);
  return 0;
}

/**
 * --check-config FILE --connect: validate, then connect to the broker once with the configured TLS
 * and credentials. 0 when the broker accepts; 78 with the reason for certificate, credential and
 * authorization problems; 69 when the broker cannot be reached.
 */
export async function checkConnect(file: string, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv, timeoutMs = 10000): Promise<number> {
  const c = load(file, packageRoot, out, env);
  if (!c) return EX_CONFIG;
  out(`config OK: ${file}`);
  if (!c.mqtt.url) return out('mqtt: no mqtt.url (embedded broker): nothing to connect to'), 0;
  const opts = clientOptions({ ...c.mqtt, statusTopic: `${c.site}/${c.deviceId}/status` });
  const client = mqtt.connect(c.mqtt.url, { ...opts, will: undefined, reconnectPeriod: 0, connectTimeout: timeoutMs });
  const r = await new Promise<{ ok: true } | { ok: false; err: Error & { code?: unknown } }>((resolve) => {
    client.once('connect', () => resolve({ ok: true }));
    client.once('error', (err) => resolve({ ok: false, err }));
    client.once('close', () => resolve({ ok: false, err: Object.assign(new Error('connection closed before the broker answered'), { code: 'ECONNRESET' }) }));
  });
  client.end(true);
  if (r.ok) return out(`mqtt OK: connected to ${redact(c.mqtt.url)} as ${c.mqtt.username || '(no user)'}${c.mqtt.certFile ? ' with a client certificate' : ''}`), 0;
  const p = explainMqttError(r.err, 'connect');
  out(`mqtt error: ${p.cause}: ${p.message}`);
  return p.config ? EX_CONFIG : EX_UNAVAILABLE;
}

/** Print the effective config (defaults < file < env) as pretty JSON with secrets masked; 78 with the problems printed on error. */
export function printConfig(file: string | undefined, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv): number {
  const c = load(file, packageRoot, out, env, (w) => process.stderr.write(w + '\n'));
  if (!c) return EX_CONFIG;
  for (const line of JSON.stringify(maskSecrets(c), null, 2).split('\n')) out(line);
  return 0;
}
