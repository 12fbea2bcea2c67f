#!/usr/bin/env node
// edgectl: the operator's command line for mobilenet-edge devices.
import { parseArgs } from 'node:util';
import { formatMetrics } from '../models/metrics.js';
import { evaluate } from './eval.js';
import { annotate } from './annotate.js';
import { watch } from './watch.js';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { buildBundle, keygen, outcomeTable, Progress, pushLocal, pushToDevice, newTransferId } from './push.js';
import { privateKeyFromPem } from '../models/signing.js';
import { mosquittoAcl, parseAclDevice } from './mosquitto-acl.js';
import { modelsTable, readStates, requestRollback, statusTable } from './ota/fleet.js';

const USAGE = `usage: edgectl <command> [options]

commands:
  watch   [--broker URL] [--site SITE] [--camera ID] [--count N]
          subscribe to results and print them as a table (default broker mqtt://127.0.0.1:1883)
  eval    <folder> --model model.json [--json] [--mistakes]
          accuracy, per-class precision/recall and confusion matrix on <folder>/<label>/*.jpg
  annotate <image> -o <out.jpg> [--config FILE] [--model model.json] [--detector detector.json] [--json]
          run the faces pipeline (detector, crops, classifier) on a picture and draw boxes, labels, scores
  keygen  --out DIR
          make an ed25519 signing key pair (DIR/signing-key.pem, DIR/signing-key.pub.pem)
  push    model.onnx --manifest model.json (--device ID ... | --all | --local [--state-dir DIR]) [--key KEY.pem]
          [--broker URL] [--site SITE] [--timeout SEC] [--chunk-kb N]
          sign and send a model; progress per device, then a table; exit 1 if any device failed
  acl     --site SITE --device ID:CAM1,CAM2 ... [--operator edgectl] [--homeassistant PREFIX]
          print a mosquitto acl_file: each device publishes only its own topics (deploy/mosquitto/)
  status  [--broker URL] [--site SITE]            what every device runs (retained model state)
  models  --device ID [--broker URL] [--site SITE] the versions a device keeps
  rollback --device ID --key KEY.pem [--broker URL] [--site SITE]
          switch a device back to its previous version (a signed command: devices refuse unsigned ones)

MQTT options for push/status/models/rollback: --broker (default $MOBILENET_EDGE_MQTT_URL or mqtt://127.0.0.1:1883),
--username, --password (or $MOBILENET_EDGE_MQTT_PASSWORD), --ca FILE (mqtts:// with a private CA).`;

const MQTT_OPTIONS = {
  broker: { type: 'string' },
  site: { type: 'string', default: 'site' },
  username: { type: 'string' },
  password: { type: 'string' },
  ca: { type: 'string' },
  device: { type: 'string', multiple: true },
  timeout: { type: 'string', default: '120' },
} as const;

function connectMqtt(v: { broker?: string; username?: string; password?: string; ca?: string }) {
  const url = v.broker || process.env.MOBILENET_EDGE_MQTT_URL || 'mqtt://127.0.0.1:1883';
  return mqtt.connectAsync(url, {
    username: v.username || undefined,
    password: v.password ?? process.env.MOBILENET_EDGE_MQTT_PASSWORD ?? undefined,
    ca: v.ca ? readFileSync(v.ca) : undefined,
    reconnectPeriod: 0,
    connectTimeout: 10000,
  });
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
    options: { ...MQTT_OPTIONS, manifest: { type: 'string' }, key: { type: 'string' }, all: { type: 'boolean' }, local: { type: 'boolean' }, 'state-dir': { type: 'string', default: '/var/lib/mobilenet-edge' }, 'chunk-kb': { type: 'string', default: '64' }, labels: { type: 'string' } },
  });
  const timeoutMs = Number(values.timeout) * 1000;
  if (cmd === 'push') {
    if (positionals.length !== 1) throw new UsageError('push needs one model file');
    if (values.labels) throw new UsageError('--labels is not supported yet: write a model.json and pass --manifest');
    if (!values.manifest) throw new UsageError('push needs --manifest model.json');
    const targets = [values.local, values.all, values.device?.length].filter(Boolean).length;
    if (targets !== 1) throw new UsageError('push needs exactly one of --device ID, --all, --local');
    const b = await buildBundle(positionals[0], values.manifest, values.key ? readFileSync(values.key, 'utf8') : undefined);
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
    const r = await requestRollback(client, values.site!, device, timeoutMs, values.key ? privateKeyFromPem(readFileSync(values.key, 'utf8')) : undefined);
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
      options: { broker: { type: 'string', default: process.env.MOBILENET_EDGE_MQTT_URL || 'mqtt://127.0.0.1:1883' }, site: { type: 'string', default: 'site' }, camera: { type: 'string', default: '+' }, count: { type: 'string' }, username: { type: 'string' }, password: { type: 'string' } },
    });
    await watch({ broker: values.broker!, site: values.site!, camera: values.camera!, count: values.count ? Number(values.count) : undefined, username: values.username, password: values.password ?? process.env.MOBILENET_EDGE_MQTT_PASSWORD }, out);
    return 0;
  }
  if (cmd === 'eval') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { model: { type: 'string', default: 'models/mask-mobilenet/model.json' }, json: { type: 'boolean' }, mistakes: { type: 'boolean' } } });
    if (positionals.length !== 1) throw new UsageError('eval needs one folder of class folders');
    const tty = process.stderr.isTTY;
    const r = await evaluate(positionals[0], values.model!, (d, n) => tty && (d % 25 === 0 || d === n) && process.stderr.write(`\r${d}/${n}`));
    if (tty) process.stderr.write('\n');
    if (values.json) out(JSON.stringify(r, null, 2));
    else {
      out(`model: ${values.model}\nfolder: ${positionals[0]}`);
      out(formatMetrics(r));
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`edgectl: ${(e as Error).message}\n`);
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(USAGE + '\n');
    process.exit(e instanceof UsageError ? 64 : 1);
  },
);
