// The faces request on the real onnxruntime worker with the bundled detector and classifier:
// real scene photos, then bad input (no faces, bad sizes, wrong manifests) as clear errors.
import t from 'tap';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { EngineWorker, type EngineError } from '../../pipelines/engines/client.js';
import { frame } from '../helpers/engine-conformance.js';
import { rgbToI420 } from '../../pipelines/pre/yuv.js';
import { iou } from '../../models/detect.js';

const root = join(import.meta.dirname, '..', '..');
const classifier = join(root, 'models/mask-mobilenet/model.json');
const detector = join(root, 'models/ultraface-rfb-320/model.json');
const scene = (f: string) => join(root, 'test/fixtures/scenes', f);

async function worker(t: Tap.Test, withDetector = true) {
  const w = new EngineWorker({ inferTimeoutMs: 20000 });
  t.teardown(() => w.stop(500));
  await w.start();
  await w.load(classifier, ['cpu']);
  if (withDetector) await w.loadDetector(detector, ['cpu']);
  return w;
}
declare namespace Tap {
  type Test = import('tap').Test;
}
const rgbOf = async (file: string) => sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const codeOf = (e: unknown) => (e as EngineError).code;

t.test('faces in real scenes: counts as the reference, boxes inside the frame, labels per face', async (t) => {
  const w = await worker(t);
  // reference detection counts for RFB-320 (shared/images/SOURCES.md), ±1 for resize differences
  for (const [f, n] of [['coral-face.jpg', 4], ['linzaer-masked-img7.jpg', 10], ['linzaer-imgs-19.jpg', 5], ['aizoo-demo2.jpg', 1]] as const) {
    const { data, info } = await rgbOf(scene(f));
    const r = await w.faces(data, info.width, info.height);
    t.ok(Math.abs(r.faces.length - n) <= 1, `${f}: ${r.faces.length} faces (reference ${n})`);
    for (const x of r.faces) {
      const [bx, by, bw, bh] = x.box;
      if (!(bx >= 0 && by >= 0 && bw > 0 && bh > 0 && bx + bw <= info.width + 0.1 && by + bh <= info.height + 0.1)) t.fail(`${f}: box ${x.box} outside ${info.width}x${info.height}`);
      const [cx, cy, cw, ch] = x.crop;
      if (!(cx <= bx && cy <= by && cx + cw >= bx + bw - 1 && cy + ch >= by + bh - 1)) t.fail(`${f}: crop ${x.crop} does not contain box ${x.box}`);
      if (!['mask', 'no_mask'].includes(x.label) || !(x.detScore > 0.7)) t.fail(`${f}: ${JSON.stringify(x)}`);
    }
    t.equal(r.classifierRuns, r.faces.length ? 1 : 0, 'one batched classifier run (dynamic batch axis)');
  }
  const { data, info } = await rgbOf(scene('linzaer-masked-img7.jpg'));
  const few = await w.faces(data, info.width, info.height, { maxFaces: 3 });
  t.equal(few.faces.length, 3, 'maxFaces');
});

t.test('I420 frames (the decoder\'s format): the same faces and labels as the same picture in RGB24', async (t) => {
  const w = await worker(t);
  t.same(w.frameFormats, ['rgb24', 'i420'], 'the worker says it reads I420');
  for (const f of ['coral-face.jpg', 'linzaer-masked-img7.jpg']) {
    // even sizes, as a decoder delivers them
    const { data, info } = await sharp(scene(f)).removeAlpha().resize({ width: 640, height: 480, fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const rgb = await w.faces(data, info.width, info.height);
    const yuv = await w.faces(rgbToI420(data, info.width, info.height), info.width, info.height, {}, 'i420');
    t.ok(Math.abs(yuv.faces.length - rgb.faces.length) <= 1, `${f}: ${yuv.faces.length} faces from I420, ${rgb.faces.length} from RGB24`);
    const c = (b: number[]) => ({ x1: b[0], y1: b[1], x2: b[0] + b[2], y2: b[1] + b[3] });
    let matched = 0, same = 0;
    for (const a of rgb.faces) {
      const b = yuv.faces.find((x) => iou(c(x.box), c(a.box)) > 0.7);
      if (!b) continue;
      matched++;
      if (b.label === a.label) same++;
    }
    t.ok(matched >= rgb.faces.length - 1, `${f}: ${matched} of ${rgb.faces.length} boxes found again (IoU > 0.7)`);
    t.ok(same >= matched - 1, `${f}: ${same} of ${matched} labels the same`);
  }
  const e = await w.faces(Buffer.alloc(100), 64, 64, {}, 'i420').then(() => null, (x) => x);
  t.match(String(e), /expected 6144 for 64x64 I420/);
});

t.test('a batch across cameras: per frame the same faces as one request each, one classifier run for all crops', async (t) => {
  const w = await worker(t);
  const frames = await Promise.all(['coral-face.jpg', 'aizoo-demo2.jpg', 'linzaer-imgs-19.jpg'].map(async (f) => {
    const { data, info } = await rgbOf(scene(f));
    return { data, width: info.width, height: info.height };
  }));
  frames.push({ data: frame(640, 360, [40, 40, 40]), width: 640, height: 360 }); // a camera with nobody
  const batch = await w.facesBatch(frames);
  t.equal(batch.results.length, 4);
  for (const [i, f] of frames.entries()) {
    const one = await w.faces(f.data, f.width, f.height);
    const strip = (r: typeof one.faces) => r.map((x) => ({ box: x.box, label: x.label, score: Math.round(x.score * 1e4) }));
    t.same(strip(batch.results[i].faces), strip(one.faces), `frame ${i}: same boxes, labels and scores as alone`);
  }
  const n = batch.results.reduce((a, r) => a + r.faces.length, 0);
  t.ok(n >= 9, `${n} faces in the batch`);
  t.ok(batch.results.every((r) => r.classifierRuns === 1), 'all crops of the batch in one classifier run');
  t.same(batch.results[3].faces, []);
  const e = await w.facesBatch([]).then(() => null, (x) => x);
  t.equal(codeOf(e), 'BAD_REQUEST');
  t.match((e as Error).message, /a batch has 1\.\.64 frames \(got 0\)/);
  const e2 = await w.facesBatch([{ data: Buffer.alloc(10), width: 64, height: 64 }]).then(() => null, (x) => x);
  t.match((e2 as Error).message, /frame 0: frame has 10 bytes, expected 12288 for 64x64 RGB24/);
  t.equal((await w.faces(frames[1].data, frames[1].width, frames[1].height)).faces.length, 1, 'still serving');
});

t.test('no faces: an empty result, not an error', async (t) => {
  const w = await worker(t);
  const r = await w.faces(frame(640, 360, [40, 40, 40]), 640, 360);
  t.same(r.faces, []);
  t.equal(r.classifierRuns, 0);
});

t.test('bad requests are clear errors and the worker keeps serving', async (t) => {
  const w = await worker(t);
  const err = async (p: Promise<unknown>, code: string, re: RegExp) => {
    const e = await p.then(() => null, (x) => x);
    t.equal(codeOf(e), code, String(e));
    t.match(String(e), re);
  };
  await err(w.faces(Buffer.alloc(100), 640, 360), 'BAD_REQUEST', /expected 691200/);
  await err(w.faces(Buffer.alloc(12), 2, 2), 'BAD_REQUEST', /16\.\.8192/);
  await err(w.faces(frame(64, 64, [0, 0, 0]), 64, 64, { scoreThreshold: 1.5 }), 'BAD_REQUEST', /scoreThreshold/);
  const r = await w.faces(frame(64, 64, [0, 0, 0]), 64, 64);
  t.same(r.faces, [], 'still serving');
  const w2 = await worker(t, false);
  await err(w2.faces(frame(64, 64, [0, 0, 0]), 64, 64), 'NOT_LOADED', /no detector/);
  await err(w2.loadDetector(classifier, ['cpu']), 'MANIFEST_INVALID', /not a detector/);
});

t.test('a detector manifest whose outputs do not match the graph is refused at load', async (t) => {
  const dir = t.testdir({});
  copyFileSync(join(root, 'models/ultraface-rfb-320/ultraface-rfb-320.onnx'), join(dir, 'ultraface-rfb-320.onnx'));
  const m = JSON.parse(readFileSync(detector, 'utf8'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...m, detect: { ...m.detect, boxes: 'bboxes' } }));
  writeFileSync(join(dir, 'three.json'), JSON.stringify({ ...m, labels: ['BACKGROUND', 'face', 'masked_face'] }));
  const w = await worker(t, false);
  const e1 = await w.loadDetector(join(dir, 'model.json'), ['cpu']).then(() => null, (x) => x);
  t.equal(codeOf(e1), 'MODEL_MISMATCH');
  t.match(String(e1), /boxes output "bboxes" is not in the graph/);
  const e2 = await w.loadDetector(join(dir, 'three.json'), ['cpu']).then(() => null, (x) => x);
  t.match(String(e2), /2 classes but the manifest lists 3 labels/);
});
