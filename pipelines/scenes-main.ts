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
import { frameLabel } from './face-events.js';
import { CliExit, PICTURE_OPTIONS, facesArgs, readPicture, runCli, withEngine } from './picture-cli.js';

runCli('scenes', async () => {
  const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: PICTURE_OPTIONS });
  if (!positionals.length || !values.model || !values.detector)
    throw new CliExit(64, 'usage: scenes-main IMAGE... --model model.json --detector detector.json [options]');
  const { opts, minLabelFace } = facesArgs(values);
  await withEngine(values.model, values.detector, async (w) => {
    for (const file of positionals) {
      const img = await readPicture(file);
      const r = await w.faces(img.data, img.info.width, img.info.height, opts);
      const { label } = frameLabel(r.faces, minLabelFace);
      process.stdout.write(JSON.stringify({ file, width: img.info.width, height: img.info.height, label, faces: r.faces, detectMs: r.detectMs, cropMs: r.cropMs, classifyMs: r.classifyMs }) + '\n');
    }
  });
});
