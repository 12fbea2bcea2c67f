// edgectl keygen / push: make a signing key pair; build a signed bundle from a model file and its
// manifest; send it to devices over MQTT in chunks (or into the local daemon's inbox) and wait for
// each device's result.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { encodeBundle, sha256Hex, MANIFEST_NAME, SIGNATURE_NAME, type BundleFile } from '../models/bundle.js';
import { parseManifest, modelFiles } from '../models/manifest.js';
import { generateKeys, privateKeyFromPem, signManifest } from '../models/signing.js';
import { defaultUpdateMeta, withUpdateMeta, type UpdateMeta } from '../models/update-meta.js';
import { chunkBundle, DEFAULT_CHUNK_BYTES, otaTopics, type ResultPayload } from './ota/protocol.js';

export const PRIVATE_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';

export async function keygen(outDir: string): Promise<{ privatePath: string; publicPath: string; keyId: string }> {
  await mkdir(outDir, { recursive: true });
  const privatePath = join(outDir, PRIVATE_KEY_FILE);
  const publicPath = join(outDir, PUBLIC_KEY_FILE);
  if (existsSync(privatePath) || existsSync(publicPath)) throw new Error(`${outDir} already holds a key pair; refusing to overwrite it`);
  const k = generateKeys();
  await writeFile(privatePath, k.privatePem, { mode: 0o600 });
  await writeFile(publicPath, k.publicPem, { mode: 0o644 });
  return { privatePath, publicPath, keyId: k.keyId };
}

/**
 * The bundle for `modelPath` described by a manifest file's path, or manifest bytes made in memory
 * (--labels) with the folder of the model. The model file goes in under the manifest's `file` name;
 * other engine files and test vectors come from the manifest's folder. The model's sha256 must be the
 * manifest's. The update metadata (models/update-meta.ts: targets, expiry, sequence) is written into
 * model.json: `update` as given, else the defaults for site "site" (sequence = now in ms, 7 days);
 * null leaves the manifest as it is. With keys, model.json is signed by each (k-of-n).
 */
export async function buildBundle(
  modelPath: string,
  manifestSource: string | { bytes: Buffer; path: string },
  keyPem?: string | string[],
  update: UpdateMeta | null = defaultUpdateMeta({ site: 'site' }),
): Promise<{ bundle: Buffer; name: string; version: string; signedBy: string | null; update: UpdateMeta | null }> {
  const manifestPath = typeof manifestSource === 'string' ? manifestSource : manifestSource.path;
  const original = typeof manifestSource === 'string' ? await readFile(manifestSource) : manifestSource.bytes;
  const manifestBytes = update ? withUpdateMeta(original, update) : original;
  const m = parseManifest(JSON.parse(manifestBytes.toString('utf8')), manifestPath);
  const model = await readFile(modelPath);
  const sha = sha256Hex(model);
  if (sha !== m.sha256) throw new Error(`${modelPath} has sha256 ${sha} but ${manifestPath} says ${m.sha256}: update the manifest (and its version)`);
  const files: BundleFile[] = [{ name: MANIFEST_NAME, bytes: manifestBytes }];
  const pems = keyPem === undefined ? [] : Array.isArray(keyPem) ? keyPem : [keyPem];
  let signedBy: string | null = null;
  if (pems.length) {
    // the signature right after the manifest: a device can check both before the model's bytes arrive
    const sigs = pems.map((p) => signManifest(manifestBytes, privateKeyFromPem(p)));
    signedBy = sigs.map((x) => x.keyId).join(', ');
    files.push({ name: SIGNATURE_NAME, bytes: Buffer.from(JSON.stringify(sigs.length === 1 ? sigs[0] : sigs)) });
  }
  files.push({ name: m.file, bytes: model });
  const dir = dirname(manifestPath);
  for (const f of [...modelFiles(m).slice(1), ...(m.tests ?? [])]) files.push({ name: f.file, bytes: await readFile(join(dir, f.file)) });
  return { bundle: encodeBundle(files), name: m.name, version: m.version, signedBy, update: m.update ?? null };
}

/** The identity a daemon writes into its state directory (<stateDir>/device.json) for edgectl push --local. */
export async function localIdentity(stateDir: string): Promise<{ site: string; devices: string[] }> {
  const file = join(stateDir, 'device.json');
  let d: { site?: unknown; deviceId?: unknown };
  try {
    d = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file} (${(e as Error).message}): is the daemon running with ota.enabled and ota.stateDir ${stateDir}?`);
  }
  if (typeof d.site !== 'string' || typeof d.deviceId !== 'string') throw new Error(`${file} does not name a site and device`);
  return { site: d.site, devices: [d.deviceId] };
}

export const newTransferId = () => `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

export interface DeviceOutcome {
  device: string;
  ok: boolean;
  code: string;
  message: string;
  ms: number;
  result?: ResultPayload;
}

/**
 * Send a bundle to one device and wait for its result. Chunks go out QoS 1 in order; a result that
 * arrives early (BUSY, TOO_LARGE, DISK_FULL…) stops the sending.
 */
export async function pushToDevice(
  client: MqttClient,
  o: { site: string; device: string; bundle: Buffer; chunkBytes?: number; timeoutMs: number; onProgress?: (sent: number, total: number) => void; transferId?: string },
): Promise<DeviceOutcome> {
  const t0 = Date.now();
  const id = o.transferId ?? newTransferId();
  const topics = otaTopics(o.site, o.device);
  let resolveResult!: (r: ResultPayload) => void;
  const result = new Promise<ResultPayload>((r) => (resolveResult = r));
  let got: ResultPayload | null = null;
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic !== topics.result(id)) return;
    try {
      got = JSON.parse(payload.toString('utf8')) as ResultPayload;
      resolveResult(got);
    } catch {
      /* not ours */
    }
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(topics.result(id), { qos: 1 });
    const chunks = chunkBundle(o.bundle, id, o.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    for (let i = 0; i < chunks.length && !got; i++) {
      await client.publishAsync(topics.push, chunks[i], { qos: 1 });
      o.onProgress?.(i + 1, chunks.length);
    }
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([result, new Promise<null>((res) => (timer = setTimeout(() => res(null), o.timeoutMs)))]);
    clearTimeout(timer);
    if (!r) return { device: o.device, ok: false, code: 'NO_ANSWER', message: `no result within ${o.timeoutMs} ms (device offline, or not subscribed?)`, ms: Date.now() - t0 };
    return { device: o.device, ok: r.ok, code: r.code, message: r.message, ms: Date.now() - t0, result: r };
  } finally {
    client.off('message', onMessage);
    await client.unsubscribeAsync(topics.result(id)).catch(() => undefined);
  }
}

/** Write the bundle into the local daemon's inbox and wait for its result file. */
export async function pushLocal(stateDir: string, bundle: Buffer, timeoutMs: number): Promise<DeviceOutcome> {
  const t0 = Date.now();
  const id = newTransferId();
  const inbox = join(stateDir, 'inbox');
  await mkdir(inbox, { recursive: true });
  await writeFile(join(inbox, `${id}.bundle.tmp`), bundle);
  await rename(join(inbox, `${id}.bundle.tmp`), join(inbox, `${id}.bundle`));
  const resultPath = join(inbox, `${id}.result.json`);
  while (Date.now() - t0 < timeoutMs) {
    if (existsSync(resultPath)) {
      const r = JSON.parse(await readFile(resultPath, 'utf8')) as ResultPayload;
      await rm(resultPath, { force: true });
      return { device: 'local', ok: r.ok, code: r.code, message: r.message, ms: Date.now() - t0, result: r };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await rm(join(inbox, `${id}.bundle`), { force: true });
  return { device: 'local', ok: false, code: 'NO_ANSWER', message: `the daemon did not pick up ${basename(resultPath)} within ${timeoutMs} ms (is it running with ota.enabled and ota.stateDir ${stateDir}?)`, ms: Date.now() - t0 };
}

export function outcomeTable(rows: DeviceOutcome[]): string {
  const head = `${'device'.padEnd(16)} ${'result'.padEnd(18)} ${'time'.padStart(8)}  message`;
  return [head, ...rows.map((r) => `${r.device.padEnd(16)} ${(r.ok ? '' : 'FAILED ') + r.code}`.padEnd(35) + ` ${(r.ms / 1000).toFixed(1).padStart(7)}s  ${r.message}`)].join('\n');
}
