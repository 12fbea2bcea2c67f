// edgectl's fleet commands: init (the config file and its profiles), keygen, push (staged rollouts),
// rollout status / resume / abort, status, models, rollback.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { privateKeyFromPem } from '../models/signing.js';
import { configPath, pickProfile, readConfigFile, resolveConnection, stateDir, writeProfile, type Connection, type Profile } from './edgectl-config.js';
import { UsageError } from './edgectl-usage.js';
import { modelsTable, readStates, requestRollback, statusTable } from './ota/fleet.js';
import type { PreprocessPreset } from './manifest-from-model.js';
import { defaultUpdateMeta } from '../models/update-meta.js';
import { buildBundle, localIdentity, keygen, newTransferId, outcomeTable, pushLocal, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from './push.js';
import { MissingInput, pushSource } from './push-source.js';
import { parseCount, planRollout, selectDevices } from './rollout/plan.js';
import { rolloutSummary, rolloutTable, StagePrinter } from './rollout/report.js';
import { runRollout } from './rollout/run.js';
import { isAlive, newRollout, readBundle, readRollout, removeBundle, saveBundle, saveRollout, unfinished, type RolloutState } from './rollout/state.js';

type Out = (l: string) => void;
const err = (s: string) => process.stderr.write(s);

const CONNECTION = {
  profile: { type: 'string' },
  broker: { type: 'string' },
  site: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  'cert-key': { type: 'string' },
  key: { type: 'string' },
  device: { type: 'string', multiple: true },
  timeout: { type: 'string', default: '120' },
} as const;

function parse<O extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string | boolean | string[] }>>(cmd: string, args: string[], options: O, positionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0], cmd);
  }
}

/** The profile (from the config file) merged under the flags and the environment. */
function connection(v: Record<string, unknown>): Connection & { profile?: string } {
  const file = configPath(process.env);
  const p = pickProfile(readConfigFile(file), (v.profile as string) ?? process.env.EDGECTL_PROFILE, file);
  const c = resolveConnection(v as Record<string, string>, process.env, p, (f) => readFileSync(f, 'utf8'));
  if (Boolean(c.cert) !== Boolean(c.certKey)) throw new UsageError('--cert and --cert-key go together (the client certificate and its private key)');
  return { ...c, profile: p.name };
}

function connect(c: Connection) {
  return mqtt.connectAsync(c.broker, {
    username: c.username,
    password: c.password,
    ca: c.ca ? readFileSync(c.ca) : undefined,
    cert: c.cert ? readFileSync(c.cert) : undefined,
    key: c.certKey ? readFileSync(c.certKey) : undefined,
    reconnectPeriod: 0,
    connectTimeout: 10000,
  });
}

async function withClient<T>(c: Connection, fn: (client: mqtt.MqttClient) => Promise<T>): Promise<T> {
  const client = await connect(c).catch((e) => {
    throw new Error(`cannot reach the broker ${c.broker}: ${(e as Error).message}`);
  });
  try {
    return await fn(client);
  } finally {
    await client.endAsync();
  }
}

export async function initCommand(rest: string[], out: Out): Promise<number> {
  const { values: v } = parse('init', rest, {
    profile: { type: 'string', default: 'default' }, broker: { type: 'string' }, site: { type: 'string', default: 'site' }, key: { type: 'string' }, username: { type: 'string' },
    password: { type: 'string' }, 'password-file': { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, 'cert-key': { type: 'string' },
    canary: { type: 'string' }, wave: { type: 'string' }, default: { type: 'boolean' }, force: { type: 'boolean' },
  });
  if (!v.broker) throw new UsageError('init needs --broker URL (mqtt://host:1883, mqtts://host:8883)', 'init');
  if (Boolean(v.cert) !== Boolean(v['cert-key'])) throw new UsageError('--cert and --cert-key go together', 'init');
  if (v.canary) parseCount(v.canary, '--canary');
  if (v.wave) parseCount(v.wave, '--wave');
  const file = configPath(process.env);
  const abs = (p?: string) => (p ? resolve(p) : undefined);
  for (const [flag, p] of [['--key', v.key], ['--password-file', v['password-file']], ['--ca', v.ca], ['--cert', v.cert], ['--cert-key', v['cert-key']]] as const)
    if (p && !existsSync(p)) throw new UsageError(`${flag} ${p}: no such file`, 'init');
  let key = abs(v.key);
  if (!key) {
    const dir = join(dirname(file), 'keys', v.profile!);
    key = join(dir, PRIVATE_KEY_FILE);
    if (!existsSync(key)) {
      const k = await keygen(dir);
      out(`signing key made: ${k.privatePath} (key id ${k.keyId}); list ${k.publicPath} in each device's ota.trustedKeys`);
    } else out(`signing key: ${key} (already there)`);
  }
  const profile: Profile = { broker: v.broker, site: v.site, key, username: v.username, password: v.password, passwordFile: abs(v['password-file']), ca: abs(v.ca), cert: abs(v.cert), certKey: abs(v['cert-key']), canary: v.canary, wave: v.wave };
  const cfg = writeProfile(file, v.profile!, profile, { makeDefault: v.default, force: v.force });
  out(`profile "${v.profile}"${cfg.default === v.profile ? ' (default)' : ''} written to ${file}: broker ${v.broker}, site ${v.site}`);
  out(`next: edgectl status${cfg.default === v.profile ? '' : ` --profile ${v.profile}`}, then edgectl push model.onnx`);
  return 0;
}

export async function keygenCommand(rest: string[], out: Out): Promise<number> {
  const { values } = parse('keygen', rest, { out: { type: 'string' } });
  if (!values.out) throw new UsageError('keygen needs --out DIR', 'keygen');
  const k = await keygen(values.out);
  out(`private key: ${k.privatePath} (keep it off the devices)\npublic key:  ${k.publicPath} (list it in ota.trustedKeys)\nkey id:      ${k.keyId}`);
  return 0;
}

const PUSH_OPTIONS = {
  ...CONNECTION, manifest: { type: 'string' }, all: { type: 'boolean' }, group: { type: 'string' }, local: { type: 'boolean' }, 'state-dir': { type: 'string', default: '/var/lib/mobilenet-edge' },
  'chunk-kb': { type: 'string', default: '64' }, labels: { type: 'string' }, version: { type: 'string' }, name: { type: 'string' }, 'output-kind': { type: 'string' }, preprocess: { type: 'string' },
  canary: { type: 'string' }, wave: { type: 'string' }, 'probation-grace': { type: 'string', default: '60' },
  // one signature per --key (k-of-n, models/signing.ts); signed update metadata (models/update-meta.ts)
  key: { type: 'string', multiple: true }, 'expires-hours': { type: 'string' }, 'allow-downgrade': { type: 'boolean' },
} as const;

export async function pushCommand(rest: string[], out: Out): Promise<number> {
  const { values: v, positionals } = parse('push', rest, PUSH_OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `push takes one model file, not ${positionals.length}` : 'push needs the model file (edgectl push model.onnx)', 'push');
  const targets = [v.local, v.all, v.device?.length, v.group].filter(Boolean).length;
  if (targets > 1) throw new UsageError('push takes one of --group G, --device ID, --all, --local', 'push');
  const c = connection({ ...v, key: v.key?.[0] });
  const keys = v.key?.length ? v.key : c.key ? [c.key] : [];
  const sec = (s: string, flag: string) => {
    const n = Number(s);
    if (!(n > 0)) throw new UsageError(`${flag} takes seconds, not ${JSON.stringify(s)}`, 'push');
    return n * 1000;
  };
  const timeoutMs = sec(v.timeout!, '--timeout');
  const graceMs = sec(v['probation-grace']!, '--probation-grace');
  const prof = profileOf(v);
  const canaryText = v.canary ?? prof.canary;
  const waveText = v.wave ?? prof.wave ?? '25%';
  let canary, wave;
  try {
    canary = canaryText ? parseCount(canaryText, '--canary') : undefined;
    wave = parseCount(waveText, '--wave');
  } catch (e) {
    throw new UsageError((e as Error).message, 'push');
  }
  const dir = stateDir(process.env);
  if (!v.local) {
    const prev = readRollout(dir, c.site);
    if (prev && unfinished(prev)) throw new Error(`a rollout of ${prev.model.name}@${prev.model.version} on ${c.site} is not finished (${rolloutSummary(prev, isAlive(prev.pid)).split('\n')[1].trim()}): edgectl rollout resume, or edgectl rollout abort`);
  }
  let src;
  try {
    src = await pushSource(positionals[0], { manifest: v.manifest, labels: v.labels, version: v.version, name: v.name, outputKind: v['output-kind'] as 'logits' | 'probabilities' | undefined, preprocess: v.preprocess as PreprocessPreset | undefined });
  } catch (e) {
    if (e instanceof MissingInput) throw new UsageError(e.message, 'push');
    throw e;
  }
  if (!keys.length) err('edgectl: no signing key (--key, or the profile\'s key from edgectl init): the bundle goes out UNSIGNED and devices refuse it\n');
  // The signed metadata names who may install it: this device (--local), the group, the devices named,
  // or every device of the site; it expires in 7 days (--expires-hours) and carries sequence = now in ms.
  const expiresHours = v['expires-hours'] === undefined ? undefined : Number(v['expires-hours']);
  if (expiresHours !== undefined && !(expiresHours > 0)) throw new UsageError('--expires-hours needs a positive number', 'push');
  const audience = v.local ? await localIdentity(v['state-dir']!) : { site: c.site, devices: v.device ?? [], groups: v.group ? [v.group] : [] };
  const update = defaultUpdateMeta({ ...audience, expiresHours, allowDowngrade: v['allow-downgrade'] });
  const b = await buildBundle(positionals[0], src.source, keys.map((k) => readFileSync(k, 'utf8')), update);
  err(`bundle ${b.name}@${b.version} (${src.how}): ${b.bundle.length} bytes, ${b.signedBy ? `signed by key ${b.signedBy}` : 'UNSIGNED (devices refuse it unless ota.allowUnsigned)'}\n`);
  if (v.local) {
    const r = await pushLocal(v['state-dir']!, b.bundle, timeoutMs);
    out(outcomeTable([r]));
    return r.ok ? 0 : 1;
  }
  return withClient(c, async (client) => {
    // named devices need no look at the site first (the rollout's watch fills in what they ran before)
    const states = v.device?.length ? new Map() : await readStates(client, c.site, 1500);
    const devices = selectDevices(states, { devices: v.device, group: v.group });
    if (!devices.length) throw new Error(v.group ? `no device of group ${v.group} on ${c.site} (groups come from each device's config "groups", seen on ${c.site}/+/model/state)` : `no devices found on ${c.site}/+/model/state (broker ${c.broker})`);
    const plan = planRollout(devices, canary, wave);
    const st = newRollout({ id: newTransferId(), site: c.site, profile: c.profile, model: { name: b.name, version: b.version }, target: { devices: v.device, group: v.group }, plan, chunkBytes: Number(v['chunk-kb']) * 1024, timeoutMs, before: new Map(devices.filter((d) => states.has(d)).map((d) => [d, states.get(d)!.active ?? null])) });
    saveBundle(dir, c.site, b.bundle);
    saveRollout(dir, st);
    err(`rollout of ${b.name}@${b.version} to ${devices.length} device(s): ${plan.canaries.length ? `canary ${plan.canaries.join(', ')}, then ` : ''}${plan.waves.length} wave(s) of up to ${plan.waves[0]?.length ?? 0}\n`);
    return execute(client, st, b.bundle, dir, graceMs, out);
  });
}

function profileOf(v: { profile?: string }): Profile {
  const file = configPath(process.env);
  return pickProfile(readConfigFile(file), v.profile ?? process.env.EDGECTL_PROFILE, file);
}

/** Run the rollout with its record saved as it goes; Ctrl-C / SIGTERM leaves it resumable. */
async function execute(client: mqtt.MqttClient, st: RolloutState, bundle: Buffer, dir: string, graceMs: number, out: Out): Promise<number> {
  const printer = new StagePrinter(err);
  const interrupted = () => {
    st.phase = 'interrupted';
    saveRollout(dir, st);
    err(`\nrollout interrupted; its record: ${dir}. Resume with edgectl rollout resume, or edgectl rollout abort\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let live;
  try {
    live = await runRollout(client, st, bundle, { probationGraceMs: graceMs, save: (s) => saveRollout(dir, s), onChange: (d) => printer.update(d) });
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  out(rolloutTable(st, live));
  if (st.phase === 'done') removeBundle(dir, st.site);
  return st.phase === 'done' ? 0 : 1;
}

export async function rolloutCommand(rest: string[], out: Out): Promise<number> {
  const { values: v, positionals } = parse('rollout', rest, { ...CONNECTION, rollback: { type: 'boolean' }, 'probation-grace': { type: 'string', default: '60' } }, true);
  const sub = positionals[0];
  if (positionals.length !== 1 || !['status', 'resume', 'abort'].includes(sub)) throw new UsageError('rollout takes status, resume or abort', 'rollout');
  const c = connection(v);
  const dir = stateDir(process.env);
  const st = readRollout(dir, c.site);
  if (!st) throw new Error(`no rollout recorded for site ${c.site} in ${dir}`);
  if (sub === 'status') return out(rolloutSummary(st, isAlive(st.pid))), 0;
  if (!unfinished(st)) throw new Error(`the rollout of ${st.model.name}@${st.model.version} is ${st.phase}: nothing to ${sub}`);
  if (isAlive(st.pid)) {
    if (sub === 'resume') throw new Error(`the rollout is still running (edgectl pid ${st.pid})`);
    process.kill(st.pid, 'SIGTERM');
    for (let i = 0; i < 50 && isAlive(st.pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  return withClient(c, async (client) => {
    if (sub === 'resume') {
      err(`resuming the rollout of ${st.model.name}@${st.model.version}\n`);
      return execute(client, readRollout(dir, c.site)!, readBundle(dir, c.site), dir, Number(v['probation-grace']) * 1000, out);
    }
    const now = readRollout(dir, c.site)!;
    now.phase = 'aborted';
    for (const d of Object.values(now.devices)) if (d.stage === 'pending') Object.assign(d, { stage: 'skipped', code: 'NOT_SENT', why: 'rollout aborted' });
    saveRollout(dir, now);
    removeBundle(dir, c.site);
    let code = 0;
    if (v.rollback) {
      const states = await readStates(client, c.site, 1500);
      const key = c.key ? privateKeyFromPem(readFileSync(c.key, 'utf8')) : undefined;
      const on = Object.keys(now.devices).filter((d) => states.get(d)?.active?.name === now.model.name && states.get(d)?.active?.version === now.model.version);
      const rs = await Promise.all(on.map((d) => requestRollback(client, c.site, d, now.timeoutMs, key)));
      if (rs.length) out(outcomeTable(rs));
      code = rs.every((r) => r.ok) ? 0 : 1;
    }
    out(rolloutTable(now, await readStates(client, c.site, 1000)));
    return code;
  });
}

export async function fleetCommand(cmd: 'status' | 'models' | 'rollback', rest: string[], out: Out): Promise<number> {
  const { values: v } = parse(cmd, rest, CONNECTION);
  const c = connection(v);
  const timeoutMs = Number(v.timeout) * 1000;
  const device = v.device?.[0];
  if (cmd !== 'status' && !device) throw new UsageError(`${cmd} needs --device ID`, cmd);
  return withClient(c, async (client) => {
    const states = await readStates(client, c.site, 1500);
    if (cmd === 'status') {
      const st = readRollout(stateDir(process.env), c.site);
      if (st && (unfinished(st) || Date.now() - Date.parse(st.updatedAt) < 3600_000)) out(rolloutSummary(st, isAlive(st.pid)) + '\n');
      out(statusTable(states));
      return states.size ? 0 : 1;
    }
    if (cmd === 'models') {
      const s = states.get(device!);
      if (!s) throw new Error(`no model state from ${device} on ${c.site}/${device}/model/state`);
      out(modelsTable(s));
      return 0;
    }
    if (!c.key) err('edgectl: rollback without a key (--key, or the profile\'s) is sent unsigned; devices refuse it (UNSIGNED)\n');
    const r = await requestRollback(client, c.site, device!, timeoutMs, c.key ? privateKeyFromPem(readFileSync(c.key, 'utf8')) : undefined);
    out(outcomeTable([r]));
    return r.ok ? 0 : 1;
  });
}

export { PUBLIC_KEY_FILE };
