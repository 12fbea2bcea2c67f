// Security settings (schema parts used by config.ts) and their checks: MQTT TLS / mutual TLS files,
// secrets from files, environment variables or systemd credentials, permissions of files that hold
// secrets, and the local HTTP port's exposure. docs/SECURITY.md explains what each one protects.
// The checks are pure: file access comes in through `FileAccess` (loadConfig passes node:fs).
import path from 'node:path';

export interface MqttSecurityConfig {
  /** PEM CA bundle that signs the broker's certificate ("" = the system's CAs). */
  caFile: string;
  /** Client certificate and key for mutual TLS ("" = none); both or neither. */
  certFile: string;
  keyFile: string;
  /** Verify the broker's certificate and host name. Off only for a lab. */
  rejectUnauthorized: boolean;
  /** A file holding the broker password (first line), e.g. "credential:mqtt-password". */
  passwordFile: string;
  /** MQTT protocol version to external brokers; 5 reports refused publishes (reason code 135). */
  protocolVersion: 4 | 5;
}

export interface HttpSecurityConfig {
  /** Bind http.host to a non-loopback address; then every endpoint but a minimal /healthz needs the token. */
  allowRemote: boolean;
  token: string;
  tokenFile: string;
}

export interface SecurityConfig {
  /** Config or secret files readable by others (or by a group that is not the daemon's): refuse or warn. */
  secretFilePermissions: 'refuse' | 'warn';
}

const fail = (msg: string): never => {
  throw new Error(msg);
};
const str = (x: unknown): void => {
  if (typeof x !== 'string') fail('must be a string');
  if (/[\r\n\0]/.test(x as string)) fail('must not contain newlines or NUL');
};
const bool = (x: unknown): void => {
  if (typeof x !== 'boolean') fail('must be true or false');
};

export const mqttSecuritySchema = {
  caFile: { doc: 'CA certificate(s), PEM, that sign the broker certificate ("" = system CAs). "credential:NAME" = $CREDENTIALS_DIRECTORY/NAME.', format: str, default: '' },
  certFile: { doc: 'Client certificate, PEM, for mutual TLS (with keyFile).', format: str, default: '' },
  keyFile: { doc: 'Client private key, PEM, for mutual TLS. "credential:NAME" reads a systemd credential.', format: str, default: '' },
  rejectUnauthorized: { doc: 'Verify the broker certificate and host name (keep true outside a lab).', format: bool, default: true },
  passwordFile: { doc: 'File whose first line is the broker password; "credential:NAME" = $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=).', format: str, default: '' },
  protocolVersion: {
    doc: 'MQTT version to an external broker: 5 (refused publishes are reported, reason code 135) or 4.',
    format: (x: unknown) => {
      if (x !== 4 && x !== 5) fail('must be 4 or 5');
    },
    default: 5,
  },
};

export const httpSecuritySchema = {
  allowRemote: { doc: 'Allow http.host to be a non-loopback address; then a bearer token is required.', format: bool, default: false },
  token: { doc: 'Bearer token for /metrics and the full /healthz when allowRemote.', format: str, default: '', env: 'MOBILENET_EDGE_HTTP_TOKEN', sensitive: true },
  tokenFile: { doc: 'File holding the bearer token; "credential:NAME" reads a systemd credential.', format: str, default: '' },
};

export const securitySchema = {
  secretFilePermissions: {
    doc: 'Config or secret files readable by others (or another group): "refuse" to start, or "warn".',
    format: (x: unknown) => {
      if (x !== 'refuse' && x !== 'warn') fail('must be "refuse" or "warn"');
    },
    default: 'refuse',
  },
};

export interface FileAccess {
  /** mode and gid of a file, or null when it does not exist. */
  stat(p: string): { mode: number; gid: number } | null;
  read(p: string): string;
}

export interface SecurityInput {
  mqtt: { url: string; password: string } & MqttSecurityConfig;
  http: { host: string } & HttpSecurityConfig;
  security: SecurityConfig;
  cameras: { url: string }[];
}

export interface SecurityResult {
  problems: { path: string; message: string }[];
  warnings: string[];
  /** Resolved values: absolute file paths, secrets read from their files. */
  mqtt: Partial<MqttSecurityConfig & { password: string }>;
  http: Partial<HttpSecurityConfig>;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A file holding secrets must not be readable by others, nor by a group other than the daemon's own
 * (so root:mobilenet-edge 0640 is fine for the service user). Returns the reason, or null.
 */
export function permissionProblem(mode: number, gid: number, ownGid: number): string | null {
  const m = (mode & 0o777).toString(8).padStart(4, '0');
  if (mode & 0o007) return `is readable by others (mode ${m}): chmod o-rwx, or better 0600 / 0640 with the service's group`;
  if (mode & 0o070 && gid !== ownGid) return `is readable by group ${gid}, which is not the service's group ${ownGid} (mode ${m}): chmod g-rwx or chgrp`;
  return null;
}

/** "credential:NAME" → $CREDENTIALS_DIRECTORY/NAME; relative paths → against the config file's folder. */
export function resolveSecretPath(value: string, env: NodeJS.ProcessEnv, configDir: string | undefined): { path?: string; error?: string } {
  const m = /^credential:(.+)$/.exec(value);
  if (m) {
    const name = m[1];
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) return { error: `bad credential name "${name}"` };
    const dir = env.CREDENTIALS_DIRECTORY;
    if (!dir) return { error: `"${value}" needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=${name}:/path/to/secret)` };
    return { path: path.join(dir, name) };
  }
  return { path: path.resolve(configDir ?? '.', value) };
}

const urlHasPassword = (u: string): boolean => {
  try {
    return new URL(u).password !== '';
  } catch {
    return false;
  }
};

/** Does the raw config file content itself hold a secret (password, token, a URL with a password)? */
export function fileHoldsSecrets(content: Record<string, unknown>): boolean {
  const mqtt = (content.mqtt ?? {}) as Record<string, unknown>;
  const http = (content.http ?? {}) as Record<string, unknown>;
  if (typeof mqtt.password === 'string' && mqtt.password !== '') return true;
  if (typeof http.token === 'string' && http.token !== '') return true;
  if (typeof mqtt.url === 'string' && urlHasPassword(mqtt.url)) return true;
  const cams = Array.isArray(content.cameras) ? content.cameras : [];
  return cams.some((c) => typeof (c as { url?: unknown })?.url === 'string' && urlHasPassword((c as { url: string }).url));
}

/** Cross-field and file checks of the security settings. `c` is the validated config. */
export function checkSecurity(
  c: SecurityInput,
  ctx: { file?: string; fileContent: Record<string, unknown>; env: NodeJS.ProcessEnv; fs: FileAccess; ownGid: number },
): SecurityResult {
  const out: SecurityResult = { problems: [], warnings: [], mqtt: {}, http: {} };
  const problem = (p: string, message: string) => out.problems.push({ path: p, message });
  const perm = (p: string, what: string, file: string) => {
    const st = ctx.fs.stat(file);
    const why = st && permissionProblem(st.mode, st.gid, ctx.ownGid);
    if (!why) return;
    if (c.security.secretFilePermissions === 'refuse') problem(p, `${what} ${file} ${why} (or set security.secretFilePermissions "warn")`);
    else out.warnings.push(`${p}: ${what} ${file} ${why}`);
  };
  const configDir = ctx.file ? path.dirname(path.resolve(ctx.file)) : undefined;
  const fileAt = (p: string, value: string, secret: boolean): string | undefined => {
    if (!value) return undefined;
    const r = resolveSecretPath(value, ctx.env, configDir);
    if (r.error) return void problem(p, r.error);
    if (!ctx.fs.stat(r.path!)) return void problem(p, `${r.path} does not exist`);
    if (secret) perm(p, 'secret file', r.path!);
    return r.path;
  };

  // Certificates and keys must be PEM: an empty or DER file would only fail at the TLS handshake.
  const pem = (p: string, file: string | undefined): string | undefined => {
    if (!file) return undefined;
    let text: string | undefined;
    try {
      text = ctx.fs.read(file);
    } catch (e) {
      return void problem(p, `${file} cannot be read: ${(e as Error).message}`);
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text ?? '')) return void problem(p, `${file} is not a PEM file (${text ? 'no -----BEGIN … line' : 'empty'})`);
    return file;
  };

  // config file holding secrets itself
  if (ctx.file && fileHoldsSecrets(ctx.fileContent)) perm(ctx.file, 'config file with secrets', path.resolve(ctx.file));

  // MQTT
  const m = c.mqtt;
  const tls = /^(mqtts|wss):/.test(m.url);
  for (const k of ['caFile', 'certFile', 'keyFile'] as const) if (m[k] && !tls) problem(`mqtt.${k}`, `needs an mqtts:// or wss:// mqtt.url (got ${m.url ? m.url.split(':')[0] + '://' : 'the embedded broker'})`);
  if (Boolean(m.certFile) !== Boolean(m.keyFile)) problem(m.certFile ? 'mqtt.keyFile' : 'mqtt.certFile', 'mutual TLS needs both mqtt.certFile and mqtt.keyFile');
  if (!m.rejectUnauthorized && tls) out.warnings.push('mqtt.rejectUnauthorized is false: the broker certificate is NOT verified (anyone on the network can pose as the broker)');
  if (m.password && m.passwordFile) problem('mqtt.passwordFile', 'set mqtt.password or mqtt.passwordFile, not both');
  const ca = pem('mqtt.caFile', fileAt('mqtt.caFile', m.caFile, false));
  const cert = pem('mqtt.certFile', fileAt('mqtt.certFile', m.certFile, false));
  const key = pem('mqtt.keyFile', fileAt('mqtt.keyFile', m.keyFile, true));
  const pwFile = fileAt('mqtt.passwordFile', m.passwordFile, true);
  if (ca) out.mqtt.caFile = ca;
  if (cert) out.mqtt.certFile = cert;
  if (key) out.mqtt.keyFile = key;
  if (pwFile) {
    const pw = readFirstLine(ctx.fs, pwFile);
    if (pw === undefined) problem('mqtt.passwordFile', `${pwFile} cannot be read`);
    else if (pw === '') problem('mqtt.passwordFile', `${pwFile} is empty`);
    else out.mqtt.password = pw;
  }
  if (m.url && /^(mqtt|ws):/.test(m.url) && (m.password || m.passwordFile || urlHasPassword(m.url)))
    out.warnings.push('mqtt.url is not TLS (mqtt:// or ws://): the broker password crosses the network in clear text; use mqtts://');

  // HTTP
  const h = c.http;
  if (h.token && h.tokenFile) problem('http.tokenFile', 'set http.token or http.tokenFile, not both');
  const tokFile = fileAt('http.tokenFile', h.tokenFile, true);
  let token = h.token;
  if (tokFile) {
    const tok = readFirstLine(ctx.fs, tokFile);
    if (!tok) problem('http.tokenFile', `${tokFile} is empty or cannot be read`);
    else out.http.token = token = tok;
  }
  if (!isLoopbackHost(h.host) && !h.allowRemote) problem('http.host', `"${h.host}" is not a loopback address: set http.allowRemote true (and a token) to serve health and metrics to the network`);
  if (h.allowRemote && !isLoopbackHost(h.host) && !token && !h.tokenFile) problem('http.token', 'http.allowRemote needs a bearer token (http.token, http.tokenFile or $MOBILENET_EDGE_HTTP_TOKEN)');
  if (token && token.length < 16) problem('http.token', 'must be at least 16 characters');
  return out;
}

function readFirstLine(fs: FileAccess, p: string): string | undefined {
  try {
    return fs.read(p).split(/\r?\n/)[0];
  } catch {
    return undefined;
  }
}
