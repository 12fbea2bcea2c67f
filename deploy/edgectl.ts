#!/usr/bin/env node
// edgectl: the operator's command line for mobilenet-edge devices.
import { parseArgs } from 'node:util';
import { formatMetrics } from '../models/metrics.js';
import { evaluate } from './eval.js';
import { annotate } from './annotate.js';
import { watch } from './watch.js';

const USAGE = `usage: edgectl <command> [options]

commands:
  watch   [--broker URL] [--site SITE] [--camera ID] [--count N]
          subscribe to results and print them as a table (default broker mqtt://127.0.0.1:1883)
  eval    <folder> --model model.json [--json] [--mistakes]
          accuracy, per-class precision/recall and confusion matrix on <folder>/<label>/*.jpg
  annotate <image> -o <out.jpg> [--config FILE] [--model model.json] [--detector detector.json] [--json]
          run the faces pipeline (detector, crops, classifier) on a picture and draw boxes, labels, scores`;

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
