// The operator's edgectl config file: one or more profiles (a site each: broker, site name, signing
// key, MQTT credentials, rollout defaults), written by `edgectl init`, read by every MQTT command.
// Flags beat the environment, which beats the profile, which beats the defaults. Paths are kept
// absolute. Pure except for the read / write helpers at the end.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const CONFIG_FORMAT = 'edgectl/config@1';
export const PROFILE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface Profile {
  broker?: string;
  site?: string;
  /** The ed25519 private key (PEM file) that signs bundles and commands. */
  key?: string;
  username?: string;
  /** In the file (kept 0600), or better a file that holds it. */
  password?: string;
  passwordFile?: string;
  ca?: string;
  cert?: string;
  certKey?: string;
  /** Rollout defaults: `--canary` and `--wave` (N or P%). */
  canary?: string;
  wave?: string;
}
const PROFILE_KEYS: (keyof Profile)[] = ['broker', 'site', 'key', 'username', 'password', 'passwordFile', 'ca', 'cert', 'certKey', 'canary', 'wave'];

export interface EdgectlConfig {
  format: typeof CONFIG_FORMAT;
  /** The profile used without --profile. */
  default: string;
  profiles: Record<string, Profile>;
}

type Env = Record<string, string | undefined>;

/** $EDGECTL_CONFIG, else $XDG_CONFIG_HOME/edgectl/config.json, else ~/.config/edgectl/config.json. */
export function configPath(env: Env): string {
  if (env.EDGECTL_CONFIG) return env.EDGECTL_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'edgectl', 'config.json');
}

/** Rollout state (edgectl's side): $EDGECTL_STATE_DIR, else $XDG_STATE_HOME/edgectl, else ~/.local/state/edgectl. */
export function stateDir(env: Env): string {
  if (env.EDGECTL_STATE_DIR) return env.EDGECTL_STATE_DIR;
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'edgectl');
}

/** Check a parsed config file; every problem is named with its key path. */
export function parseConfig(raw: unknown, file: string): EdgectlConfig {
  const problems: string[] = [];
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(raw)) throw new Error(`${file}: not a JSON object`);
  if (raw.format !== CONFIG_FORMAT) problems.push(`format: expected ${CONFIG_FORMAT}`);
  if (!obj(raw.profiles)) problems.push('profiles: expected an object of profiles');
  else
    for (const [name, p] of Object.entries(raw.profiles)) {
      if (!PROFILE_NAME.test(name)) problems.push(`profiles.${name}: not a profile name (1-64 of A-Z a-z 0-9 _ -)`);
      if (!obj(p)) problems.push(`profiles.${name}: expected an object`);
      else
        for (const [k, v] of Object.entries(p)) {
          if (!PROFILE_KEYS.includes(k as keyof Profile)) problems.push(`profiles.${name}.${k}: unknown key`);
          else if (typeof v !== 'string') problems.push(`profiles.${name}.${k}: expected a string`);
        }
    }
  if (typeof raw.default !== 'string' || !obj(raw.profiles) || !(raw.default in raw.profiles)) problems.push('default: must name one of the profiles');
  if (problems.length) throw new Error(`${file}: ${problems.join('; ')}`);
  return raw as unknown as EdgectlConfig;
}

/** The profile to use: --profile, else $EDGECTL_PROFILE, else the file's default; {} without a file. */
export function pickProfile(cfg: EdgectlConfig | null, name: string | undefined, file: string): Profile & { name?: string } {
  if (!cfg) {
    if (name) throw new Error(`no edgectl config at ${file}: run edgectl init --profile ${name} --broker URL --site SITE first`);
    return {};
  }
  const n = name ?? cfg.default;
  const p = cfg.profiles[n];
  if (!p) throw new Error(`${file} has no profile "${n}" (profiles: ${Object.keys(cfg.profiles).join(', ')})`);
  return { ...p, name: n };
}

export interface Connection {
  broker: string;
  site: string;
  key?: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  certKey?: string;
}

/** Flags, then the environment, then the profile, then the defaults. */
export function resolveConnection(flags: Partial<Record<'broker' | 'site' | 'key' | 'username' | 'password' | 'ca' | 'cert' | 'cert-key', string>>, env: Env, p: Profile, readSecret: (file: string) => string): Connection {
  const password = flags.password ?? env.MOBILENET_EDGE_MQTT_PASSWORD ?? p.password ?? (p.passwordFile ? readSecret(p.passwordFile).trim() : undefined);
  return {
    broker: flags.broker || env.MOBILENET_EDGE_MQTT_URL || p.broker || 'mqtt://127.0.0.1:1883',
    site: flags.site || p.site || 'site',
    key: flags.key || p.key,
    username: flags.username || p.username,
    password: password || undefined,
    ca: flags.ca || p.ca,
    cert: flags.cert || p.cert,
    certKey: flags['cert-key'] || p.certKey,
  };
}

// ---- files

export function readConfigFile(file: string): EdgectlConfig | null {
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, file);
}

/** Add or replace a profile (0600: it may hold a password); the first profile becomes the default. */
export function writeProfile(file: string, name: string, p: Profile, o: { makeDefault?: boolean; force?: boolean }): EdgectlConfig {
  const cfg = readConfigFile(file) ?? { format: CONFIG_FORMAT, default: name, profiles: {} };
  if (cfg.profiles[name] && !o.force) throw new Error(`${file} already has a profile "${name}": pass --force to replace it, or --profile NAME for another site`);
  cfg.profiles[name] = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined && v !== ''));
  if (o.makeDefault || !cfg.profiles[cfg.default]) cfg.default = name;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return cfg;
}
