#!/usr/bin/env node
// Run the faces pipeline on one picture and draw the result: the engine worker of the daemon
// (same detector, crops and classifier, one `faces` request), then boxes with labels and scores.
//
//   node dist/pipelines/annotate-main.js IMAGE -o OUT.jpg --model model.json --detector det.json
//        [--margin 0.2] [--score-threshold 0.7] [--iou-threshold 0.3] [--max-faces 32] [--min-face-size 8]
//        [--frame-label-min-face 32]
//
// Prints the faces as JSON on stdout. Exit 65 when IMAGE is not a readable picture, 64 on bad usage.
// `edgectl annotate` resolves a daemon config and runs this as a child process (deploy/ may not
// import pipelines/).
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { frameLabel } from './face-events.js';
import { drawFaces } from './annotate.js';
import { CliExit, PICTURE_OPTIONS, facesArgs, readPicture, runCli, withEngine } from './picture-cli.js';

runCli('annotate', async () => {
  const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { ...PICTURE_OPTIONS, out: { type: 'string', short: 'o' } } });
  if (positionals.length !== 1 || !values.out || !values.model || !values.detector)
    throw new CliExit(64, 'usage: annotate-main IMAGE -o OUT.jpg --model model.json --detector detector.json [options]');
  const { out, model, detector } = values;
  const { opts, minLabelFace } = facesArgs(values);
  const { data, info } = await readPicture(positionals[0]);
  await withEngine(model, detector, async (w) => {
    const r = await w.faces(data, info.width, info.height, opts);
    const { label, counts } = frameLabel(r.faces, minLabelFace);
    await sharp(await drawFaces(data, info.width, info.height, r.faces, label, 90)).toFile(out);
    process.stdout.write(JSON.stringify({ image: positionals[0], width: info.width, height: info.height, label, counts, faces: r.faces, detectMs: r.detectMs, cropMs: r.cropMs, classifyMs: r.classifyMs }) + '\n');
  });
});
