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
import { watch } from './watch.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { mosquittoAcl, parseAclDevice } from './mosquitto-acl.js';
import { COMMANDS, MANUAL, UsageError, usageOf } from './edgectl-usage.js';
import { fleetCommand, initCommand, keygenCommand, pushCommand, rolloutCommand } from './edgectl-ota.js';

/** watch's credentials and TLS files; a certificate without its key (or the reverse) is a usage error. */
function tlsAndCredentials(v: { username?: string; password?: string; ca?: string; cert?: string; 'cert-key'?: string }) {
  if (Boolean(v.cert) !== Boolean(v['cert-key'])) throw new UsageError('--cert and --cert-key go together (the client certificate and its private key)', 'watch');
  return {
    username: v.username || undefined,
    password: v.password ?? process.env.MOBILENET_EDGE_MQTT_PASSWORD ?? undefined,
    ca: v.ca ? readFileSync(v.ca) : undefined,
    cert: v.cert ? readFileSync(v.cert) : undefined,
    key: v['cert-key'] ? readFileSync(v['cert-key']) : undefined,
  };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const out = (l: string) => process.stdout.write(l + '\n');
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return out(rest[0] && COMMANDS[rest[0]] ? usageOf(rest[0]) : MANUAL), cmd ? 0 : 64;
  if (rest.includes('--help') || rest.includes('-h')) return out(usageOf(cmd)), 0;
  if (cmd === 'watch') {
    const { values } = parseArgs({
      args: rest,
      options: { broker: { type: 'string', default: process.env.MOBILENET_EDGE_MQTT_URL || 'mqtt://127.0.0.1:1883' }, site: { type: 'string', default: 'site' }, camera: { type: 'string', default: '+' }, count: { type: 'string' }, people: { type: 'boolean' }, username: { type: 'string' }, password: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, 'cert-key': { type: 'string' } },
    });
    await watch({ broker: values.broker!, site: values.site!, camera: values.camera!, count: values.count ? Number(values.count) : undefined, people: Boolean(values.people), ...tlsAndCredentials(values) }, out);
    return 0;
  }
  if (cmd === 'eval') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { model: { type: 'string', default: 'models/mask-mobilenet/model.json' }, json: { type: 'boolean' }, mistakes: { type: 'boolean' }, split: { type: 'string' }, baseline: { type: 'string' }, report: { type: 'string' }, scenes: { type: 'string' }, detector: { type: 'string' }, 'score-threshold': { type: 'string' }, 'min-face-size': { type: 'string' }, 'frame-label-min-face': { type: 'string' } } });
    if (values.scenes) {
      if (positionals.length) throw new UsageError('eval --scenes DIR takes no folder of class folders', 'eval');
      const n = (k: 'score-threshold' | 'min-face-size' | 'frame-label-min-face') => (values[k] === undefined ? undefined : Number(values[k]));
      const r = await evaluateScenes({ dir: values.scenes, model: values.model, detector: values.detector, scoreThreshold: n('score-threshold'), minFaceSize: n('min-face-size'), frameLabelMinFace: n('frame-label-min-face') });
      if (values.json) out(JSON.stringify(r, null, 2));
      else out([`model: ${r.model}`, `detector: ${r.detector}`, ...formatSceneReport(r), '', `mean per picture: detector ${r.meanMs.detect} ms, crops ${r.meanMs.crop} ms, classifier ${r.meanMs.classify} ms`].join('\n'));
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('eval needs one folder of class folders (or --scenes DIR)', 'eval');
    if ((values.baseline || values.report) && !values.split) throw new UsageError('--baseline and --report need --split split.json (from edgectl train)', 'eval');
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
    if (positionals.length !== 1 || !values.out) throw new UsageError('annotate needs one image and -o OUT', 'annotate');
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
    if (!values.camera || !values.out) throw new UsageError('collect needs --camera ID and --out DIR', 'collect');
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
    if (positionals.length !== 1 || !v.out) throw new UsageError('train needs one folder of class folders and -o OUT', 'train');
    const num = (k: keyof typeof v) => {
      const n = Number(v[k]);
      if (!Number.isFinite(n)) throw new UsageError(`--${k} must be a number`, 'train');
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
    if (!values.site || !values.device?.length) throw new UsageError('acl needs --site SITE and at least one --device ID:CAM1,CAM2', 'acl');
    out(mosquittoAcl({ site: values.site, devices: values.device.map(parseAclDevice), operator: values.operator, homeassistantPrefix: values.homeassistant }).trimEnd());
    return 0;
  }
  if (cmd === 'init') return initCommand(rest, out);
  if (cmd === 'keygen') return keygenCommand(rest, out);
  if (cmd === 'push') return pushCommand(rest, out);
  if (cmd === 'rollout') return rolloutCommand(rest, out);
  if (cmd === 'status' || cmd === 'models' || cmd === 'rollback') return fleetCommand(cmd, rest, out);
  throw new UsageError(`unknown command "${cmd}" (edgectl help: every command)`);
}

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

const argv = process.argv.slice(2);
main(argv).then(
  (code) => process.exit(code),
  (e) => {
    // one line, then the usage of the command that was called (not the whole manual)
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const cmd = (e as UsageError).command ?? (COMMANDS[argv[0]] ? argv[0] : undefined);
    process.stderr.write(`edgectl${cmd ? ` ${cmd}` : ''}: ${(e as Error).message.split('\n')[0]}\n`);
    if (usage) process.stderr.write(usageOf(cmd ?? '') + '\n');
    process.exit(usage ? 64 : 1);
  },
);
