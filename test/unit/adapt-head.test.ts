// Head training maths, augmentation geometry, class weighting, early stopping, graph building (pure).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { argmax, classWeights, earlyStop, foldStandardiser, headLogits, prng, stratifiedSplit, trainHead } from '../../models/head.js';
import { variants } from '../../models/augment.js';
import { ancestors, readHead, replaceHead } from '../../models/onnx-head.js';
import { onnxOutputDims } from '../../models/onnx-inputs.js';

const { onnx } = onnxProto;
const root = join(import.meta.dirname, '..', '..');

t.test('prng is seeded and repeatable', async (t) => {
  const a = prng(7), b = prng(7), c = prng(8);
  const xs = [a(), a(), a()];
  t.same(xs, [b(), b(), b()]);
  t.not(xs[0], c());
  t.ok(xs.every((x) => x >= 0 && x < 1));
});

t.test('stratified split: every class in every slice, disjoint, seeded', async (t) => {
  const y = [...Array(10).fill(0), ...Array(20).fill(1)];
  const s = stratifiedSplit(y, 3, 0.2);
  t.same(s.val.filter((i) => y[i] === 0).length, 2);
  t.same(s.test.filter((i) => y[i] === 1).length, 4);
  t.equal(s.train.length + s.val.length + s.test.length, 30);
  t.equal(new Set([...s.train, ...s.val, ...s.test]).size, 30);
  t.same(stratifiedSplit(y, 3, 0.2), s);
  t.notSame(stratifiedSplit(y, 4, 0.2).test, s.test);
});

t.test('class weights are inverse frequency, mean 1 per sample', async (t) => {
  const w = classWeights([0, 0, 0, 1], 3);
  t.same(w, [4 / 6, 2, 0]);
  t.equal(0 * 0 + 3 * w[0] + w[1], 4);
});

t.test('early stopping keeps the best epoch and stops after `patience` worse epochs', async (t) => {
  const s = { best: Infinity, bestEpoch: 0 };
  t.same(earlyStop(s, 1, 1.0, 2), { improved: true, stop: false });
  t.same(earlyStop(s, 2, 0.5, 2), { improved: true, stop: false });
  t.same(earlyStop(s, 3, 0.6, 2), { improved: false, stop: false });
  t.same(earlyStop(s, 4, 0.7, 2), { improved: false, stop: true });
  t.equal(s.bestEpoch, 2);
});

t.test('folding the standardiser gives the same logits on raw features', async (t) => {
  const W = Float64Array.from([1, -2, 0.5, 3]), b = Float64Array.from([0.1, -0.2]);
  const mean = Float64Array.from([10, -4]), std = Float64Array.from([2, 0.5]);
  const h = foldStandardiser(W, b, mean, std, 2, 2);
  const x = [13, -3];
  const z = [(13 - 10) / 2, (-3 + 4) / 0.5];
  const want = [1 * z[0] - 2 * z[1] + 0.1, 0.5 * z[0] + 3 * z[1] - 0.2];
  headLogits(h, x).forEach((v, k) => t.ok(Math.abs(v - want[k]) < 1e-5, `logit ${k}: ${v} vs ${want[k]}`));
});

t.test('trainHead separates three Gaussian blobs, deterministically', async (t) => {
  const r = prng(1);
  const centres = [[3, 0, 0, 1], [0, 3, 0, 1], [0, 0, 3, 1]];
  const make = (n: number) => {
    const x: Float32Array[] = [], y: number[] = [];
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) (x.push(Float32Array.from(centres[c], (v) => v + (r() - 0.5))), y.push(c));
    return { x, y };
  };
  const tr = make(20), va = make(5);
  const o = { classes: 3, epochs: 200, lr: 0.05, l2: 0.001, patience: 20, weights: classWeights(tr.y, 3) };
  const a = trainHead(tr.x, tr.y, va.x, va.y, o);
  const b = trainHead(tr.x, tr.y, va.x, va.y, o);
  t.same(Buffer.from(a.head.weight.buffer), Buffer.from(b.head.weight.buffer), 'same inputs → identical weights');
  t.same(Buffer.from(a.head.bias.buffer), Buffer.from(b.head.bias.buffer));
  const acc = va.x.filter((v, i) => argmax(headLogits(a.head, v)) === va.y[i]).length / va.x.length;
  t.equal(acc, 1);
  t.ok(a.bestEpoch >= 1 && a.bestEpoch <= a.epochsRun);
  t.equal(a.history.length, a.epochsRun);
});

t.test('augmentation variants stay inside the image', async (t) => {
  const v = variants(100, 60, { crops: 5, keep: 0.9, flipCrops: true });
  t.same(v.slice(0, 2).map((x) => [x.id, x.flip, x.crop]), [['orig', false, undefined], ['flip', true, undefined]]);
  t.equal(v.length, 12);
  t.equal(new Set(v.map((x) => x.id)).size, v.length, 'ids unique (cache keys)');
  for (const x of v.slice(2)) {
    const c = x.crop!;
    t.ok(c.left >= 0 && c.top >= 0 && c.left + c.width <= 100 && c.top + c.height <= 60, x.id);
    t.same([c.width, c.height], [90, 54]);
  }
  t.same(v.find((x) => x.id === 'crop-br-0.9')!.crop, { left: 10, top: 6, width: 90, height: 54 });
  t.equal(variants(1, 1, { crops: 4, keep: 0.5 })[2].crop!.width, 1);
  t.throws(() => variants(10, 10, { crops: 1, keep: 0 }), RangeError);
});

t.test('ancestors keeps only what a target needs', async (t) => {
  const nodes = [{ input: ['x'], output: ['a'] }, { input: ['a'], output: ['f'] }, { input: ['f', 'w'], output: ['logits'] }, { input: ['x'], output: ['other'] }];
  t.same([...ancestors(nodes, ['f'])].sort(), [0, 1]);
});

t.test('replaceHead on the bundled model: old head gone, new Gemm, features kept', async (t) => {
  const bytes = readFileSync(join(root, 'models/mask-mobilenet/model.onnx'));
  // the bundled model's feature size, from its `features` output (256 for mask-mobilenet 2.0.0)
  const dim = Number(onnxOutputDims(bytes, 'features')?.[1]);
  t.ok(dim > 0, `features: ${dim} values`);
  const head = { classes: 3, dim, weight: Float32Array.from({ length: 3 * dim }, (_v, i) => i / (3 * dim)), bias: Float32Array.from([1, 2, 3]) };
  const out = replaceHead(bytes, { head, output: 'logits', features: 'features' });
  const g = onnx.ModelProto.decode(out).graph!;
  const before = onnx.ModelProto.decode(bytes).graph!;
  t.equal(g.node!.length, before.node!.length, 'one Gemm replaced by one Gemm');
  const last = g.node![g.node!.length - 1];
  t.same([last.opType, last.input, last.output], ['Gemm', ['features', 'adapt.head.weight', 'adapt.head.bias'], ['logits']]);
  t.notOk(g.initializer!.some((i) => i.name?.startsWith('net.classifier')), 'old head weights dropped');
  t.same(g.output!.map((o) => o.name), ['logits', 'features']);
  t.equal(Number(g.output![0].type!.tensorType!.shape!.dim![1].dimValue), 3);
  const back = readHead(out);
  t.same(back.dims, [3, dim]);
  t.same(Array.from(back.bias), [1, 2, 3]);
  t.equal(back.weight[3 * dim - 1], head.weight[3 * dim - 1]);
  t.throws(() => replaceHead(bytes, { head, output: 'logits', features: 'nope' }), /no node produces/);
  t.throws(() => replaceHead(bytes, { head: { ...head, dim: 100 }, output: 'logits', features: 'features' }), new RegExp(`${dim} values`));
});
