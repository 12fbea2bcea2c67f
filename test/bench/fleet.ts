// npm run bench -- --fleet [--devices 10,50,100] [--model models/mask-mobilenet/model.json] [--staged]
// A fleet on one broker: N device ends in this process (each its own MQTT client, its own state
// folder and model store, the real OTA device end of daemon/ota-device.ts) against a real
// mosquitto; the built edgectl, set up with `edgectl init`, pushes one model to all of them as a
// separate process. Measured per N: time until every device reported the model active (edgectl's
// wall time to its final table), broker CPU seconds and peak RSS (/proc), bytes through the broker
// ($SYS/broker/bytes/received and /sent), and this process's CPU.
//
// What a device end here does NOT do: load the model in an engine worker. Its swap reads the model
// file back and checks its sha256 (the store has verified signature and hashes already); the engine
// load, warm-up and test vectors are the model-swap bench's business (docs/BENCHMARKS.md). So these
// numbers are the transport and the device's install path, not inference.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import { OtaDevice, type OtaLink } from '../../daemon/ota/device.js';
import { otaDefaults } from '../../daemon/ota/config.js';
import { ModelStore } from '../../daemon/ota/model-store.js';
import { createLogger } from '../../daemon/log.js';
import { readModel } from '../../models/model-file.js';
import { loadTrustedKeys } from '../../daemon/ota/setup.js';
import type { ModelSwap } from '../../daemon/ota/model-swap.js';
import type { Pipeline } from '../../pipelines/pipeline.js';

export interface FleetRun {
  devices: number;
  mode: 'all at once' | 'staged';
  edgectlArgs: string[];
  exitCode: number | null;
  /** From starting edgectl to the last device's retained state naming the model active (the devices' word). */
  secondsToAllActive: number;
  /** From starting edgectl to its exit with the final table (process start, bundle signing, state reads included). */
  edgectlSeconds: number;
  active: number;
  bundleBytes: number;
  broker: { cpuSeconds: number; peakRssMb: number; bytesReceived: number; bytesSent: number };
  deviceEndsCpuSeconds: number;
  load: { start: string; end: string };
}

const cpuTicks = async (pid: number) => {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
};
const peakRss = async (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const loadavg = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

/** A model swap without an engine: read the model file back and check its hash (see the header). */
function fileSwap(): ModelSwap {
  const current = { loaded: null as null | { model: { name: string; version: string; sha256: string } }, on() {}, off() {}, once() {} };
  return {
    current,
    swapTo: async (manifestPath: string) => {
      const t0 = Date.now();
      const { manifest, sha256 } = await readModel(manifestPath);
      current.loaded = { model: { name: manifest.name, version: manifest.version, sha256 } };
      return { loaded: current.loaded, manifest, unclassified: 0, ms: Date.now() - t0 };
    },
  } as unknown as ModelSwap;
}

async function deviceEnd(i: number, o: { url: string; site: string; root: string; trustedKey: string; probationSec: number }) {
  const id = `dev-${String(i).padStart(3, '0')}`;
  const dir = join(o.root, id);
  const client = await mqtt.connectAsync(o.url, { clientId: `${o.site}-${id}`, clean: true, reconnectPeriod: 1000 });
  const handlers = new Map<string, (b: Buffer) => void>();
  client.on('message', (topic, payload) => handlers.get(topic)?.(payload));
  const link: OtaLink = {
    subscribe: (topic, fn) => {
      handlers.set(topic, fn);
      void client.subscribeAsync(topic, { qos: 1 });
    },
    publishEvent: (topic, p) => void client.publishAsync(topic, p, { qos: 1 }).catch(() => undefined),
    publishRetained: (topic, p) => void client.publishAsync(topic, p, { qos: 1, retain: true }).catch(() => undefined),
  };
  const store = await ModelStore.open(dir, { keep: 1 });
  const pipeline = { frameCounts: () => ({ taken: 0, published: 0, failed: 0 }) } as unknown as Pipeline;
  const dev = new OtaDevice(
    { ...otaDefaults(), site: o.site, deviceId: id, groups: i % 2 ? ['odd'] : ['even'], trusted: loadTrustedKeys([o.trustedKey]), enabled: true, stateDir: dir, allowUnsigned: false, maxBundleBytes: 64 * 1024 ** 2, minFreeBytes: 0, transferTimeoutSec: 120, keepVersions: 1, probationSec: o.probationSec, probationMaxErrorRate: 0.2, probationMinFrames: 20, localPollMs: 60_000, commandMaxAgeSec: 60 },
    store, fileSwap(), pipeline, link, createLogger('error', () => {}),
  );
  dev.start();
  return { id, stop: async () => (await dev.stop(), await client.endAsync()) };
}

export async function fleetBench(o: { root: string; counts: number[]; model: string; staged: boolean; log: (s: string) => void }): Promise<FleetRun[]> {
  const runs: FleetRun[] = [];
  const edgectl = join(o.root, 'dist/deploy/edgectl.js');
  for (const n of o.counts) {
    for (const staged of o.staged ? [false, true] : [false]) {
      const work = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
      const broker = await startMosquitto({ extraConfig: ['sys_interval 1'] });
      const env = { ...process.env, EDGECTL_CONFIG: join(work, 'edgectl.json'), EDGECTL_STATE_DIR: join(work, 'edgectl-state'), MOBILENET_EDGE_MQTT_URL: '' };
      const ends: Awaited<ReturnType<typeof deviceEnd>>[] = [];
      try {
        await promisify(execFile)(process.execPath, [edgectl, 'init', '--broker', broker.url, '--site', 'fleet'], { env });
        const key = join(work, 'keys', 'default', 'signing-key.pub.pem');
        o.log(`fleet: ${n} device ends${staged ? ' (staged: canary 1, waves of 25%)' : ' (all at once)'}`);
        for (let i = 0; i < n; i++) ends.push(await deviceEnd(i, { url: broker.url, site: 'fleet', root: join(work, 'devices'), trustedKey: key, probationSec: staged ? 2 : 0 }));
        await new Promise((r) => setTimeout(r, 1000)); // retained states in
        const sys = await mqtt.connectAsync(broker.url);
        const bytes = { received: 0, sent: 0 };
        sys.on('message', (t, p) => (t.endsWith('/received') ? (bytes.received = Number(p)) : (bytes.sent = Number(p))));
        await sys.subscribeAsync(['$SYS/broker/bytes/received', '$SYS/broker/bytes/sent']);
        await new Promise((r) => setTimeout(r, 1500));
        // the devices' own word: when did the last of them publish the new model as active
        const target = JSON.parse(await readFile(join(o.root, o.model), 'utf8')).version as string;
        const activeAt = new Map<string, number>();
        const mon = await mqtt.connectAsync(broker.url);
        mon.on('message', (t, p) => {
          try {
            if (JSON.parse(p.toString()).active?.version === target && !activeAt.has(t)) activeAt.set(t, Date.now());
          } catch {
            /* not a state */
          }
        });
        await mon.subscribeAsync('fleet/+/model/state', { qos: 1 });
        const before = { ...bytes, cpu: await cpuTicks(broker.proc.pid!), self: process.cpuUsage(), load: await loadavg() };
        const args = ['push', join(o.root, o.model.replace(/\.json$/, '.onnx')), '--manifest', join(o.root, o.model), ...(staged ? ['--canary', '1', '--wave', '25%'] : ['--canary', '0', '--wave', '100%']), '--timeout', '600'];
        const t0 = Date.now();
        const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const p = spawn(process.execPath, [edgectl, ...args], { env });
          let out = '', err = '';
          p.stdout.on('data', (d) => (out += d));
          p.stderr.on('data', (d) => (err += d));
          p.on('exit', (code) => resolve({ code, out, err }));
        });
        const secs = (Date.now() - t0) / 1000;
        const lastActive = activeAt.size ? (Math.max(...activeAt.values()) - t0) / 1000 : NaN;
        await mon.endAsync();
        await new Promise((r) => setTimeout(r, 2500)); // the next $SYS counters
        const self = process.cpuUsage(before.self);
        const active = Number(/rollout \w+: (\d+) of/i.exec(r.out)?.[1] ?? 0);
        const bundleBytes = Number(/: (\d+) bytes, signed/.exec(r.err)?.[1] ?? 0);
        if (r.code !== 0) o.log(`  edgectl exited ${r.code}: ${r.err.split('\n').slice(-5).join(' | ')}`);
        const run: FleetRun = {
          devices: n, mode: staged ? 'staged' : 'all at once', edgectlArgs: args.slice(2), exitCode: r.code, secondsToAllActive: +lastActive.toFixed(1), edgectlSeconds: +secs.toFixed(1), active, bundleBytes,
          broker: { cpuSeconds: +((await cpuTicks(broker.proc.pid!)) - before.cpu).toFixed(2), peakRssMb: +(await peakRss(broker.proc.pid!)).toFixed(1), bytesReceived: bytes.received - before.received, bytesSent: bytes.sent - before.sent },
          deviceEndsCpuSeconds: +((self.user + self.system) / 1e6).toFixed(1),
          load: { start: before.load, end: await loadavg() },
        };
        o.log(`  ${active}/${n} active in ${run.secondsToAllActive} s (edgectl done in ${run.edgectlSeconds} s); broker ${run.broker.cpuSeconds} s CPU, peak ${run.broker.peakRssMb} MB, ${(run.broker.bytesReceived / 1e6).toFixed(1)} MB in / ${(run.broker.bytesSent / 1e6).toFixed(1)} MB out`);
        runs.push(run);
        await sys.endAsync();
      } finally {
        await Promise.all(ends.map((e) => e.stop().catch(() => undefined)));
        await broker.stop();
        await rm(work, { recursive: true, force: true });
      }
    }
  }
  return runs;
}

export function fleetReport(r: { date: string; machine: string; command: string; load: { start: string; end: string }; model: string; runs: FleetRun[] }): string {
  const rows = r.runs.map((x) => `| ${x.devices} | ${x.mode} | ${x.active}/${x.devices} | ${x.secondsToAllActive} | ${x.edgectlSeconds} | ${x.broker.cpuSeconds} | ${x.broker.peakRssMb} | ${(x.broker.bytesReceived / 1e6).toFixed(1)} | ${(x.broker.bytesSent / 1e6).toFixed(1)} | ${x.deviceEndsCpuSeconds} | ${x.load.start} → ${x.load.end} |`);
  return [
    `### ${r.date.slice(0, 16).replace('T', ' ')} UTC — fleet on one broker, \`${r.command}\``,
    '',
    `Machine: ${r.machine}. Load average ${r.load.start} → ${r.load.end}${Math.max(...[r.load.start, r.load.end].map((l) => Number(l.split(' ')[0]))) > 2 ? ': **taken on a shared, loaded machine** (other work above the 2 cores): the times and CPU seconds are upper bounds, the bytes are not affected' : ''}. Model: ${r.model} (bundle ${r.runs[0]?.bundleBytes ?? '?'} bytes, 64 KB chunks).`,
    '',
    '| devices | rollout | active | s to all active | s to edgectl table | broker CPU s | broker peak RSS MB | MB into broker | MB out of broker | device ends CPU s | load (1/5/15 min) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}
