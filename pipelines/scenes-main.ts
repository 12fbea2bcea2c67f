#!/usr/bin/env node
// Run the daemon's faces pipeline (the engine worker: detector, crops, classifier, decision rule)
// over pictures, one JSON line per picture on stdout. `edgectl eval --scenes` runs this as a child
// process (deploy/ may not import pipelines/) and scores the lines against the ground truth.
//
//   node dist/pipelines/scenes-main.js IMAGE... --model model.json --detector det.json
//        [--margin 0.2] [--score-threshold 0.7] [--iou-threshold 0.3] [--max-faces 32] [--min-face-size 8]
//        [--frame-label-min-face 32]
//
// Exit 65 when an IMAGE is not a readable picture (its name in the message), 64 on bad usage.
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FRAME_LABEL_MIN_FACE, frameLabel } from './face-events.js';
import { EngineWorker } from './engines/client.js';
import type { FacesOptions } from './engines/protocol.js';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
  if (!positionals.length || !values.model || !values.detector) {
    process.stderr.write('usage: scenes-main IMAGE... --model model.json --detector detector.json [options]\n');
    return 64;
  }
  const num = (k: keyof typeof values) => (values[k] === undefined ? undefined : Number(values[k]));
  const opts: FacesOptions = {};
  for (const [k, v] of [['margin', num('margin')], ['scoreThreshold', num('score-threshold')], ['iouThreshold', num('iou-threshold')], ['maxFaces', num('max-faces')], ['minFaceSize', num('min-face-size')]] as const)
    if (v !== undefined) opts[k] = v;
  // faces shorter than this make the frame label only when no face is taller (D121); 0 = every face
  const minLabelFace = num('frame-label-min-face') ?? FRAME_LABEL_MIN_FACE;
  if (!(minLabelFace >= 0)) {
    process.stderr.write(`${'scenes'}: --frame-label-min-face must be a number ≥ 0, got ${values['frame-label-min-face']}\n`);
    return 64;
  }
  const w = new EngineWorker({ inferTimeoutMs: 60000, onStderr: (l) => process.stderr.write(`engine: ${l}\n`) });
  try {
    await w.start();
    await w.load(values.model, ['cpu']);
    await w.loadDetector(values.detector, ['cpu']);
    for (const file of positionals) {
      let img;
      try {
        img = await sharp(file).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      } catch (e) {
        process.stderr.write(`scenes: ${file} is not a readable image: ${(e as Error).message}\n`);
        return 65;
      }
      const r = await w.faces(img.data, img.info.width, img.info.height, opts);
      const { label } = frameLabel(r.faces, minLabelFace);
      process.stdout.write(JSON.stringify({ file, width: img.info.width, height: img.info.height, label, faces: r.faces, detectMs: r.detectMs, cropMs: r.cropMs, classifyMs: r.classifyMs }) + '\n');
    }
    return 0;
  } finally {
    await w.stop(1000);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`scenes: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
