// Convict glue for daemon/config.ts: format functions (throwing one-line messages; convict prefixes
// the key path), and turning convict's error text and the raw file into per-key problems.
import { checkProvidersFor, type Backend } from './backend.js';
import { isObj, parseUrl, show, type Obj } from './cameras.js';
import type { ConfigProblem } from './config.js';

const TOPIC_SAFE = /^[A-Za-z0-9_-]{1,64}$/;

// ---------------------------------------------------------------------------------------
// Convict formats. They throw one-line messages; convict prefixes the key path.

export const fail = (msg: string): never => {
  throw new Error(msg);
};

export const topicSafe = (x: unknown): void => {
  if (typeof x !== 'string' || !TOPIC_SAFE.test(x)) fail('must be 1-64 characters from A-Z a-z 0-9 _ - (it is used in MQTT topics)');
};

export const intRange =
  (min: number, max: number) =>
  (x: unknown): void => {
    if (typeof x === 'number' && Number.isNaN(x)) fail(`must be an integer ${min}..${max} (got a non-number)`);
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) fail(`must be an integer ${min}..${max}`);
  };

export const stringFormat = (nonEmpty: boolean) => (x: unknown): void => {
  if (typeof x !== 'string') fail('must be a string');
  if (nonEmpty && x === '') fail('must not be empty');
  if (/[\r\n\0]/.test(x as string)) fail('must not contain newlines or NUL');
};

export const mqttUrl = (x: unknown): void => {
  if (typeof x !== 'string') fail('must be a string ("" = embedded broker)');
  const s = x as string;
  if (s === '') return;
  const u = parseUrl(s);
  if (!u || !['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol)) fail(`${show(s)} is not an mqtt://, mqtts://, ws:// or wss:// URL`);
  if (!u!.hostname) fail(`${show(s)} has no host`);
};

export const numRange =
  (min: number, max: number) =>
  (x: unknown): void => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) fail(`must be a number ${min}..${max}`);
  };

export const bool = (x: unknown): void => {
  if (typeof x !== 'boolean') fail('must be true or false');
};

export const qosFormat = (x: unknown): void => {
  if (x !== 0 && x !== 1 && x !== 2) fail('must be 0, 1 or 2');
};

/** Marker thrown by the executionProviders format; its detailed problems go to the collector. */
export const PROVIDERS_MARKER = 'invalid execution provider list (see the per-entry problems)';

export const executionProviders =
  (collector: ConfigProblem[], backend: Backend) =>
  (x: unknown): void => {
    const problems = checkProvidersFor(backend, x);
    if (!problems.length) return;
    collector.push(...problems.map((p) => ({ path: `engine.executionProviders${p.path}`, message: p.message })));
    fail(PROVIDERS_MARKER);
  };

export const oneOf =
  (allowed: readonly string[]) =>
  (x: unknown): void => {
    if (typeof x !== 'string' || !allowed.includes(x)) fail(`must be one of ${allowed.join(', ')}`);
  };

/** Marker thrown by the cameras format; its detailed problems go to the collector instead. */
export const CAMERAS_MARKER = 'invalid camera list (see the per-camera problems)';


export type SchemaTree = { [k: string]: SchemaTree | { default: unknown } };
export const isLeaf = (n: unknown): boolean => isObj(n) && 'default' in n;

/** All key paths of the schema (groups and leaves). */
export function schemaPaths(tree: SchemaTree, prefix = '', out = new Set<string>()): Set<string> {
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
export function structural(raw: Obj, tree: SchemaTree, prefix: string, problems: ConfigProblem[]): Obj {
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
export function parseConvictErrors(text: string, known: Set<string>, env: NodeJS.ProcessEnv, envVars: Record<string, string>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const seen = new Set<string>();
  const envNote = (p: string): string => {
    const name = envVars[p];
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

