#!/usr/bin/env node
// Run the faces pipeline on one picture and draw the result: the engine worker of the daemon
// (same detector, crops and classifier, one `faces` request), then boxes with labels and scores.
//
//   node dist/pipelines/annotate-main.js IMAGE -o OUT.jpg --model model.json --detector det.json
//        [--margin 0.2] [--score-threshold 0.7] [--iou-threshold 0.3] [--max-faces 32] [--min-face-size 8]
//
// Prints the faces as JSON on stdout. Exit 65 when IMAGE is not a readable picture, 64 on bad usage.
// `edgectl annotate` resolves a daemon config and runs this as a child process (deploy/ may not
// import pipelines/).
import { parseArgs } from 'node:util';
import sharp, { type OutputInfo } from 'sharp';
import { FRAME_LABEL_MIN_FACE, frameLabel } from './face-events.js';
import { drawFaces } from './annotate.js';
import { EngineWorker } from './engines/client.js';
import type { FacesOptions } from './engines/protocol.js';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      model: { type: 'string' },
      detector: { type: 'string' },
      margin: { type: 'string' },
      'score-threshold': { type: 'string' },
      'iou-threshold': { type: 'string' },
      'max-faces': { type: 'string' },
      'min-face-size': { type: 'string' },
      'frame-label-min-face': { type: 'string' },
    },
  });
  if (positionals.length !== 1 || !values.out || !values.model || !values.detector) {
    process.stderr.write('usage: annotate-main IMAGE -o OUT.jpg --model model.json --detector detector.json [options]\n');
    return 64;
  }
  const num = (k: keyof typeof values) => (values[k] === undefined ? undefined : Number(values[k]));
  const opts: FacesOptions = {};
  for (const [k, v] of [['margin', num('margin')], ['scoreThreshold', num('score-threshold')], ['iouThreshold', num('iou-threshold')], ['maxFaces', num('max-faces')], ['minFaceSize', num('min-face-size')]] as const)
    if (v !== undefined) opts[k] = v;
  // faces shorter than this make the frame label only when no face is taller (D121); 0 = every face
  const minLabelFace = num('frame-label-min-face') ?? FRAME_LABEL_MIN_FACE;
  if (!(minLabelFace >= 0)) {
    process.stderr.write(`${'annotate'}: --frame-label-min-face must be a number ≥ 0, got ${values['frame-label-min-face']}\n`);
    return 64;
  }

  let img: { data: Buffer; info: OutputInfo };
  try {
    img = await sharp(positionals[0]).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    process.stderr.write(`annotate: ${positionals[0]} is not a readable image: ${(e as Error).message}\n`);
    return 65;
  }
  const { data, info } = img;
  const w = new EngineWorker({ inferTimeoutMs: 60000, onStderr: (l) => process.stderr.write(`engine: ${l}\n`) });
  try {
    await w.start();
    await w.load(values.model, ['cpu']);
    await w.loadDetector(values.detector, ['cpu']);
    const r = await w.faces(data, info.width, info.height, opts);
    const { label, counts } = frameLabel(r.faces, minLabelFace);
    await sharp(await drawFaces(data, info.width, info.height, r.faces, label, 90)).toFile(values.out);
    process.stdout.write(JSON.stringify({ image: positionals[0], width: info.width, height: info.height, label, counts, faces: r.faces, detectMs: r.detectMs, cropMs: r.cropMs, classifyMs: r.classifyMs }) + '\n');
    return 0;
  } finally {
    await w.stop(1000);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`annotate: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
