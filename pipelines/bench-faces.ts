#!/usr/bin/env node
// Per-frame cost of each mode on this machine, through the real engine worker:
//   node dist/pipelines/bench-faces.js [--runs 30] [--detector det.json] IMAGE...   (default: the daemon's default detector)
// classify: one frame at the classifier's input size (infer request). faces: each image letterboxed to 1280x720 (the default
// working resolution), one faces request per frame; medians of the worker's own timings.
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { EngineWorker } from './engines/client.js';
import { packageRoot } from '../models/paths.js';
import { join } from 'node:path';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '30' }, detector: { type: 'string' } } });
const runs = Number(values.runs);
const root = packageRoot();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const w = new EngineWorker({ inferTimeoutMs: 60000 });
await w.start();
const loaded = await w.load(join(root, 'models/mask-mobilenet/model.json'), ['cpu']);
await w.loadDetector(values.detector ?? join(root, 'models/ultraface-masked-rfb-640/model.json'), ['cpu']);
const [, , ch, cw] = loaded.inputs[0].shape as number[];
const small = Buffer.alloc(cw * ch * 3, 100);
const c: number[] = [];
for (let i = 0; i < runs + 5; i++) {
  const r = await w.infer(small, cw, ch);
  if (i >= 5) c.push(r.inferMs);
}
console.log(`| classify (${cw}x${ch} frame) | – | – | – | ${median(c).toFixed(2)} |`);
for (const img of positionals) {
  const frame = await sharp(img).removeAlpha().resize(1280, 720, { fit: 'contain', background: { r: 0, g: 0, b: 0 } }).raw().toBuffer();
  const d: number[] = [], cr: number[] = [], cl: number[] = [], tot: number[] = [];
  let faces = 0;
  for (let i = 0; i < runs + 5; i++) {
    const r = await w.faces(frame, 1280, 720);
    faces = r.faces.length;
    if (i < 5) continue;
    d.push(r.detectMs), cr.push(r.cropMs), cl.push(r.classifyMs), tot.push(r.inferMs);
  }
  const per = faces ? ` (${((median(cr) + median(cl)) / faces).toFixed(2)}/face)` : '';
  console.log(`| faces: ${img.split('/').pop()} (1280x720) | ${faces} | ${median(d).toFixed(2)} | ${median(cr).toFixed(2)} + ${median(cl).toFixed(2)}${per} | ${median(tot).toFixed(2)} |`);
}
await w.stop();
