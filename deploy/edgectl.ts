#!/usr/bin/env node
// edgectl: the operator's command line for mobilenet-edge devices.
import { parseArgs } from 'node:util';
import { formatMetrics } from '../models/metrics.js';
import { evaluate, evaluateFiles, formatCurve } from './eval.js';
import { evaluateScenes } from './eval-scenes.js';
import { formatSceneReport } from '../models/scenes.js';
import { confusionSvg, reportMarkdown, subsetAccuracy } from './report.js';
import { readModel } from '../models/model-file.js';
import { basename, dirname, join } from 'node:path';
import { annotate } from './annotate.js';
import { train } from './train.js';
import { collect, parseInterval } from './collect.js';
import { manifestFromModel, type PreprocessPreset } from './manifest-from-model.js';
import { watch } from './watch.js';
import { readFileSync, writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { defaultUpdateMeta } from '../models/update-meta.js';
import { buildBundle, localIdentity, keygen, outcomeTable, Progress, pushLocal, pushToDevice, newTransferId } from './push.js';
import { privateKeyFromPem } from '../models/signing.js';
import { mosquittoAcl, parseAclDevice } from './mosquitto-acl.js';
import { modelsTable, readStates, requestRollback, statusTable } from './ota/fleet.js';

const USAGE = `usage: edgectl <command> [options]

commands:
  watch   [--broker URL] [--site SITE] [--camera ID] [--count N] [--people]  (and the MQTT options below)
          subscribe to results and print them as a table (default broker mqtt://127.0.0.1:1883);
          --people: people (enter / verdict / leave events) instead of frames
  eval    <folder> --model model.json [--json] [--mistakes] [--split split.json [--baseline base.json] [--report OUT.md]]
          accuracy, per-class precision/recall and confusion matrix on <folder>/<label>/*.jpg;
          --split: only the held-out slice written by train; --baseline: the same for the base model (before/after);
          --report: Markdown + SVG confusion matrices beside it; prints the decision rule and the precision/recall curve
  eval    --scenes DIR [--model model.json] [--detector det.json] [--score-threshold T] [--min-face-size PX] [--json]
          the faces pipeline on photos with ground truth (DIR/faces.json): faces found, found and labelled right,
          false boxes, per class and face size, and each photo's frame label
  annotate <image> -o <out.jpg> [--config FILE] [--model model.json] [--detector detector.json] [--json]
          run the faces pipeline (detector, crops, classifier) on a picture and draw boxes, labels, scores
  collect --camera ID --out DIR [--every 2s] [--count N] [--faces] [--url http://127.0.0.1:9464] [--token T]
          save frames (or the face crops the classifier saw) from a running daemon into DIR/unlabelled/
          (needs preview.enabled on the daemon; sort them into DIR/<label>/ for train)
  train   <folder> --base model.json -o OUT/ [--labels a,b,c] [--min-per-class N] [--seed N] [--epochs N]
          [--patience N] [--held-out F] [--version V] [--name NAME]
          adapt a model to a site: frozen base up to its features, new head trained on <folder>/<label>/*.jpg;
          writes OUT/model.onnx, OUT/model.json, OUT/split.json (the held-out slice for eval)
  keygen  --out DIR
          make an ed25519 signing key pair (DIR/signing-key.pem, DIR/signing-key.pub.pem)
  push    model.onnx (--manifest model.json | --labels labels.txt --version V [--name N] [--output-kind logits|probabilities]
          [--preprocess mobilenet|imagenet|unit]) (--device ID ... | --all | --local [--state-dir DIR]) [--key KEY.pem ...]
          [--broker URL] [--site SITE] [--timeout SEC] [--chunk-kb N] [--expires-hours H] [--allow-downgrade]
          sign and send a model; progress per device, then a table; exit 1 if any device failed.
          The signed metadata names the site and devices (--all: the whole site), expires in 7 days
          (--expires-hours) and carries sequence = now in ms; a --key per signature (k-of-n)
  acl     --site SITE --device ID:CAM1,CAM2 ... [--operator edgectl] [--homeassistant PREFIX]
          print a mosquitto acl_file: each device publishes only its own topics (deploy/mosquitto/)
  status  [--broker URL] [--site SITE]            what every device runs (retained model state)
  models  --device ID [--broker URL] [--site SITE] the versions a device keeps
  rollback --device ID --key KEY.pem [--broker URL] [--site SITE]
          switch a device back to its previous version (a signed command: devices refuse unsigned ones)

MQTT options for watch/push/status/models/rollback: --broker (default $MOBILENET_EDGE_MQTT_URL or mqtt://127.0.0.1:1883),
--username, --password (or $MOBILENET_EDGE_MQTT_PASSWORD), --ca FILE (mqtts:// with a private CA),
--cert FILE --cert-key FILE (a client certificate, for a listener with require_certificate).`;

const MQTT_OPTIONS = {
  broker: { type: 'string' },
  site: { type: 'string', default: 'site' },
  username: { type: 'string' },
  password: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  'cert-key': { type: 'string' },
  device: { type: 'string', multiple: true },
  timeout: { type: 'string', default: '120' },
} as const;

interface BrokerArgs {
  broker?: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  'cert-key'?: string;
}

/** Credentials and TLS files of the MQTT options; a certificate without its key (or the reverse) is a usage error. */
function tlsAndCredentials(v: BrokerArgs): Pick<mqtt.IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> {
  if (Boolean(v.cert) !== Boolean(v['cert-key'])) throw new UsageError('--cert and --cert-key go together (the client certificate and its private key)');
  return {
    username: v.username || undefined,
    password: v.password ?? process.env.MOBILENET_EDGE_MQTT_PASSWORD ?? undefined,
    ca: v.ca ? readFileSync(v.ca) : undefined,
    cert: v.cert ? readFileSync(v.cert) : undefined,
    key: v['cert-key'] ? readFileSync(v['cert-key']) : undefined,
  };
}

function connectMqtt(v: BrokerArgs) {
  const url = v.broker || process.env.MOBILENET_EDGE_MQTT_URL || 'mqtt://127.0.0.1:1883';
  return mqtt.connectAsync(url, { ...tlsAndCredentials(v), reconnectPeriod: 0, connectTimeout: 10000 });
}

async function otaCommand(cmd: string, rest: string[], out: (l: string) => void): Promise<number> {
  if (cmd === 'keygen') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } });
    if (!values.out) throw new UsageError('keygen needs --out DIR');
    const k = await keygen(values.out);
    out(`private key: ${k.privatePath} (keep it off the devices)\npublic key:  ${k.publicPath} (list it in ota.trustedKeys)\nkey id:      ${k.keyId}`);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...MQTT_OPTIONS, manifest: { type: 'string' }, key: { type: 'string', multiple: true }, 'allow-downgrade': { type: 'boolean' }, 'expires-hours': { type: 'string' }, all: { type: 'boolean' }, local: { type: 'boolean' }, 'state-dir': { type: 'string', default: '/var/lib/mobilenet-edge' }, 'chunk-kb': { type: 'string', default: '64' }, labels: { type: 'string' }, version: { type: 'string' }, name: { type: 'string' }, 'output-kind': { type: 'string' }, preprocess: { type: 'string' } },
  });
  const timeoutMs = Number(values.timeout) * 1000;
  if (cmd === 'push') {
    if (positionals.length !== 1) throw new UsageError('push needs one model file');
    if (values.labels && values.manifest) throw new UsageError('push takes --manifest or --labels, not both');
    if (!values.manifest && !values.labels) throw new UsageError('push needs --manifest model.json, or --labels labels.txt --version V');
    if (values.labels && !values.version) throw new UsageError('--labels needs --version (each pushed model needs its own version)');
    const targets = [values.local, values.all, values.device?.length].filter(Boolean).length;
    if (targets !== 1) throw new UsageError('push needs exactly one of --device ID, --all, --local');
    const manifest = values.manifest
      ? values.manifest
      : await manifestFromModel(positionals[0], values.labels!, { version: values.version!, name: values.name, outputKind: values['output-kind'] as 'logits' | 'probabilities' | undefined, preprocess: values.preprocess as PreprocessPreset | undefined }).then((m) => ({
          bytes: Buffer.from(JSON.stringify(m, null, 2)),
          path: join(dirname(positionals[0]), 'model.json'),
        }));
    // Signed metadata (models/update-meta.ts): for the devices named, every device of the site (--all), or this device (--local)
    const audience = values.local ? await localIdentity(values['state-dir']!) : { site: values.site!, devices: values.all ? [] : values.device! };
    const expiresHours = values['expires-hours'] === undefined ? undefined : Number(values['expires-hours']);
    if (expiresHours !== undefined && !(expiresHours > 0)) throw new UsageError('--expires-hours needs a positive number');
    const update = defaultUpdateMeta({ ...audience, expiresHours, allowDowngrade: values['allow-downgrade'] });
    const b = await buildBundle(positionals[0], manifest, values.key?.map((k) => readFileSync(k, 'utf8')), update);
    process.stderr.write(`bundle ${b.name}@${b.version}: ${b.bundle.length} bytes, ${b.signedBy ? `signed by key ${b.signedBy}` : 'UNSIGNED (devices refuse it unless ota.allowUnsigned)'}\n`);
    if (values.local) {
      const r = await pushLocal(values['state-dir']!, b.bundle, timeoutMs);
      out(outcomeTable([r]));
      return r.ok ? 0 : 1;
    }
    const client = await connectMqtt(values);
    try {
      const devices = values.all ? [...(await readStates(client, values.site!, 2000)).keys()] : values.device!;
      if (!devices.length) throw new Error(`no devices found on ${values.site}/+/model/state`);
      const progress = new Progress(process.stderr);
      const rows = await Promise.all(
        devices.map((device) => pushToDevice(client, { site: values.site!, device, bundle: b.bundle, timeoutMs, chunkBytes: Number(values['chunk-kb']) * 1024, transferId: newTransferId(), onProgress: (s, n) => progress.update(device, s, n) })),
      );
      out(outcomeTable(rows));
      return rows.every((r) => r.ok) ? 0 : 1;
    } finally {
      await client.endAsync();
    }
  }
  const client = await connectMqtt(values);
  try {
    if (cmd === 'status') {
      const states = await readStates(client, values.site!, 1500);
      out(statusTable(states));
      return states.size ? 0 : 1;
    }
    const device = values.device?.[0];
    if (!device) throw new UsageError(`${cmd} needs --device ID`);
    if (cmd === 'models') {
      const s = (await readStates(client, values.site!, 1500)).get(device);
      if (!s) throw new Error(`no model state from ${device} on ${values.site}/${device}/model/state`);
      out(modelsTable(s));
      return 0;
    }
    if (!values.key) process.stderr.write('edgectl: rollback without --key is sent unsigned; devices refuse it (UNSIGNED)\n');
    const r = await requestRollback(client, values.site!, device, timeoutMs, values.key?.length ? privateKeyFromPem(readFileSync(values.key[0], 'utf8')) : undefined);
    out(outcomeTable([r]));
    return r.ok ? 0 : 1;
  } finally {
    await client.endAsync();
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const out = (l: string) => process.stdout.write(l + '\n');
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return out(USAGE), cmd ? 0 : 64;
  if (cmd === 'watch') {
    const { values } = parseArgs({
      args: rest,
      options: { broker: { type: 'string', default: process.env.MOBILENET_EDGE_MQTT_URL || 'mqtt://127.0.0.1:1883' }, site: { type: 'string', default: 'site' }, camera: { type: 'string', default: '+' }, count: { type: 'string' }, people: { type: 'boolean' }, username: { type: 'string' }, password: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, 'cert-key': { type: 'string' } },
    });
    await watch({ broker: values.broker!, site: values.site!, camera: values.camera!, count: values.count ? Number(values.count) : undefined, people: Boolean(values.people), ...tlsAndCredentials(values) }, out);
    return 0;
  }
  if (cmd === 'eval') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { model: { type: 'string', default: 'models/mask-mobilenet/model.json' }, json: { type: 'boolean' }, mistakes: { type: 'boolean' }, split: { type: 'string' }, baseline: { type: 'string' }, report: { type: 'string' }, scenes: { type: 'string' }, detector: { type: 'string' }, 'score-threshold': { type: 'string' }, 'min-face-size': { type: 'string' } } });
    if (values.scenes) {
      if (positionals.length) throw new UsageError('eval --scenes DIR takes no folder of class folders');
      const n = (k: 'score-threshold' | 'min-face-size') => (values[k] === undefined ? undefined : Number(values[k]));
      const r = await evaluateScenes({ dir: values.scenes, model: values.model, detector: values.detector, scoreThreshold: n('score-threshold'), minFaceSize: n('min-face-size') });
      if (values.json) out(JSON.stringify(r, null, 2));
      else out([`model: ${r.model}`, `detector: ${r.detector}`, ...formatSceneReport(r), '', `mean per picture: detector ${r.meanMs.detect} ms, crops ${r.meanMs.crop} ms, classifier ${r.meanMs.classify} ms`].join('\n'));
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('eval needs one folder of class folders');
    if ((values.baseline || values.report) && !values.split) throw new UsageError('--baseline and --report need --split split.json (from edgectl train)');
    const tty = process.stderr.isTTY;
    const progress = (d: number, n: number) => tty && (d % 25 === 0 || d === n) && process.stderr.write(`\r${d}/${n}`);
    if (values.split) return evalSplit(positionals[0], values as { model: string; split: string; baseline?: string; report?: string; json?: boolean }, out);
    const r = await evaluate(positionals[0], values.model!, progress);
    if (tty) process.stderr.write('\n');
    if (values.json) out(JSON.stringify(r, null, 2));
    else {
      out(`model: ${values.model}\nfolder: ${positionals[0]}`);
      out(formatMetrics(r));
      const curve = formatCurve(r);
      if (curve.length) out('\n' + curve.join('\n'));
      if (values.mistakes) for (const x of r.mistakes) out(`  ${x.file}: ${x.actual} → ${x.predicted} (${x.score})`);
    }
    return 0;
  }
  if (cmd === 'annotate') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string', short: 'o' }, config: { type: 'string', short: 'c' }, model: { type: 'string' }, detector: { type: 'string' }, json: { type: 'boolean' } } });
    if (positionals.length !== 1 || !values.out) throw new UsageError('annotate needs one image and -o OUT');
    const line = await annotate({ image: positionals[0], out: values.out, config: values.config, model: values.model, detector: values.detector });
    if (values.json) out(line);
    else {
      const r = JSON.parse(line);
      out(`${values.out}: ${r.label}, ${r.counts.faces} face(s): ${r.counts.mask} mask, ${r.counts.no_mask} no_mask`);
      for (const f of r.faces) out(`  [${f.box.join(', ')}] ${f.label} ${f.score} (detector ${f.detScore})`);
    }
    return 0;
  }
  if (cmd === 'collect') {
    const { values } = parseArgs({ args: rest, options: { camera: { type: 'string' }, out: { type: 'string', short: 'o' }, every: { type: 'string', default: '2s' }, count: { type: 'string', default: '50' }, faces: { type: 'boolean' }, url: { type: 'string', default: 'http://127.0.0.1:9464' }, token: { type: 'string' } } });
    if (!values.camera || !values.out) throw new UsageError('collect needs --camera ID and --out DIR');
    const n = await collect({ url: values.url!.replace(/\/$/, ''), camera: values.camera, out: values.out, everyMs: parseInterval(values.every!), count: Number(values.count), faces: Boolean(values.faces), token: values.token ?? process.env.MOBILENET_EDGE_HTTP_TOKEN }, (l) => process.stderr.write(l + '\n'));
    out(`${n} image(s) in ${join(values.out, 'unlabelled')}: sort them into ${values.out}/<label>/ and run edgectl train ${values.out}`);
    return 0;
  }
  if (cmd === 'train') {
    const { values: v, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { base: { type: 'string', default: 'models/mask-mobilenet/model.json' }, out: { type: 'string', short: 'o' }, labels: { type: 'string' }, 'min-per-class': { type: 'string', default: '10' }, seed: { type: 'string', default: '1' }, epochs: { type: 'string', default: '300' }, patience: { type: 'string', default: '30' }, lr: { type: 'string', default: '0.01' }, l2: { type: 'string', default: '0.01' }, 'held-out': { type: 'string', default: '0.2' }, version: { type: 'string' }, name: { type: 'string' } },
    });
    if (positionals.length !== 1 || !v.out) throw new UsageError('train needs one folder of class folders and -o OUT');
    const num = (k: keyof typeof v) => {
      const n = Number(v[k]);
      if (!Number.isFinite(n)) throw new UsageError(`--${k} must be a number`);
      return n;
    };
    const tty = process.stderr.isTTY;
    const bar = (e: { epoch: number; loss: number; valLoss: number; valAccuracy: number }, total: number) => {
      if (!tty && e.epoch % 25 !== 0) return;
      const w = 24, f = Math.round((w * e.epoch) / total);
      process.stderr.write(`${tty ? '\r' : ''}epoch ${String(e.epoch).padStart(4)}/${total} [${'#'.repeat(f)}${'.'.repeat(w - f)}] loss ${e.loss.toFixed(4)} val loss ${e.valLoss.toFixed(4)} val acc ${(100 * e.valAccuracy).toFixed(1)}%${tty ? '' : '\n'}`);
    };
    const r = await train({ data: positionals[0], base: v.base!, out: v.out, labels: v.labels?.split(',').map((s) => s.trim()).filter(Boolean), minPerClass: num('min-per-class'), seed: num('seed'), epochs: num('epochs'), patience: num('patience'), lr: num('lr'), l2: num('l2'), heldOut: num('held-out'), version: v.version, name: v.name, onEpoch: bar, log: (l) => process.stderr.write(l + '\n') });
    process.stderr.write('\n');
    const t = r.manifest.training as Record<string, unknown>;
    out(`${v.out}/model.onnx: ${r.manifest.name}@${r.manifest.version}, labels ${r.manifest.labels.join(', ')}`);
    out(`best epoch ${t.bestEpoch} of ${t.epochs}${t.stoppedEarly ? ' (stopped early)' : ''}, val accuracy ${(100 * Number(t.valAccuracy)).toFixed(1)}%, base features max |Δ| ${t.featuresMaxAbsDiff}`);
    out(`next: edgectl eval ${positionals[0]} --model ${v.out}/model.json --split ${v.out}/split.json --baseline ${v.base} --report ${v.out}/REPORT.md`);
    return 0;
  }
  if (cmd === 'acl') {
    const { values } = parseArgs({ args: rest, options: { site: { type: 'string' }, device: { type: 'string', multiple: true }, operator: { type: 'string', default: 'edgectl' }, homeassistant: { type: 'string' } } });
    if (!values.site || !values.device?.length) throw new UsageError('acl needs --site SITE and at least one --device ID:CAM1,CAM2');
    out(mosquittoAcl({ site: values.site, devices: values.device.map(parseAclDevice), operator: values.operator, homeassistantPrefix: values.homeassistant }).trimEnd());
    return 0;
  }
  if (['keygen', 'push', 'status', 'models', 'rollback'].includes(cmd)) return otaCommand(cmd, rest, out);
  throw new UsageError(`unknown command "${cmd}"`);
}

class UsageError extends Error {}

/** eval --split: the held-out slice of a train run, optionally before (baseline) and after, with a report. */
async function evalSplit(folder: string, v: { model: string; split: string; baseline?: string; report?: string; json?: boolean }, out: (l: string) => void): Promise<number> {
  const split = JSON.parse(readFileSync(v.split, 'utf8')) as { heldOut: string[] };
  const { manifest: m } = await readModel(v.model);
  const files = split.heldOut.map((f) => ({ file: join(folder, f), actual: f.split('/')[0] }));
  const after = await evaluateFiles(files, v.model, m.labels);
  const base = v.baseline ? (await readModel(v.baseline)).manifest : undefined;
  const before = v.baseline ? await evaluateFiles(files, v.baseline, m.labels) : undefined;
  const old = base?.labels.filter((l) => m.labels.includes(l)) ?? [];
  if (v.json) out(JSON.stringify({ after, before, baseLabels: old, afterOnBase: before && subsetAccuracy(after, old), beforeOnBase: before && subsetAccuracy(before, old) }, null, 2));
  else {
    if (before) out(`before (${v.baseline}), held-out slice:\n${formatMetrics(before)}\n  on the base classes (${old.join(', ')}): ${(100 * subsetAccuracy(before, old).accuracy).toFixed(2)}%\n`);
    out(`after (${v.model}), held-out slice:\n${formatMetrics(after)}`);
    if (before) out(`  on the base classes (${old.join(', ')}): ${(100 * subsetAccuracy(after, old).accuracy).toFixed(2)}%`);
  }
  if (v.report) {
    const stem = basename(v.report).replace(/\.md$/i, '');
    const svgAfter = `${stem}-after.svg`, svgBefore = `${stem}-before.svg`;
    writeFileSync(join(dirname(v.report), svgAfter), confusionSvg(after, `after: ${m.name}@${m.version}`));
    if (before && base) writeFileSync(join(dirname(v.report), svgBefore), confusionSvg(before, `before: ${base.name}@${base.version}`));
    writeFileSync(v.report, reportMarkdown({ model: `${m.name}@${m.version}`, baseline: base && `${base.name}@${base.version}`, baseLabels: old, after, before, svgAfter, svgBefore: before ? svgBefore : undefined, slice: `held-out slice of ${v.split}` }));
    process.stderr.write(`report: ${v.report}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`edgectl: ${(e as Error).message}\n`);
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(USAGE + '\n');
    process.exit(e instanceof UsageError ? 64 : 1);
  },
);
