// Runs an exported model through onnxruntime-node (the engine the runtime uses), for train.py.
// usage: node models/train/ort_check.cjs <model.onnx> <dir>
//   <dir>/input.json  {"shape": [N, 3, S, S]}   <dir>/input.f32  float32 little-endian NCHW
// writes <dir>/logits.f32, <dir>/features.f32 (whole batch at once) and <dir>/result.json
// (graph I/O names, and the largest difference between batch-N and batch-1 runs of the first images).
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

async function main() {
  const [modelPath, dir] = process.argv.slice(2);
  const req = createRequire(path.join(__dirname, '..', '..', 'package.json'));
  const ort = req('onnxruntime-node');
  const { shape } = JSON.parse(fs.readFileSync(path.join(dir, 'input.json'), 'utf8'));
  const buf = fs.readFileSync(path.join(dir, 'input.f32'));
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const session = await ort.InferenceSession.create(modelPath, { logSeverityLevel: 3, executionProviders: ['cpu'] });
  const all = await session.run({ input: new ort.Tensor('float32', data, shape) });
  fs.writeFileSync(path.join(dir, 'logits.f32'), Buffer.from(all.logits.data.buffer, all.logits.data.byteOffset, all.logits.data.byteLength));
  fs.writeFileSync(path.join(dir, 'features.f32'), Buffer.from(all.features.data.buffer, all.features.data.byteOffset, all.features.data.byteLength));
  const per = shape[1] * shape[2] * shape[3];
  let batchDiff = 0;
  for (let i = 0; i < Math.min(4, shape[0]); i++) {
    const one = await session.run({ input: new ort.Tensor('float32', data.slice(i * per, (i + 1) * per), [1, shape[1], shape[2], shape[3]]) });
    for (let k = 0; k < one.logits.data.length; k++)
      batchDiff = Math.max(batchDiff, Math.abs(one.logits.data[k] - all.logits.data[i * one.logits.data.length + k]));
  }
  const result = {
    ort: require(req.resolve('onnxruntime-node/package.json')).version,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    logitsDims: all.logits.dims,
    featuresDims: all.features.dims,
    batchVsSingleMaxAbsDiff: batchDiff,
  };
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
