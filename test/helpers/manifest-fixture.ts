// A valid classifier manifest (mobilenet-edge/model@1) as plain data, a fresh copy per call: the
// manifest tests start from it, the config tests write it beside their fake bundled models.
export const classifierManifest = () => ({
  format: 'mobilenet-edge/model@1', name: 'mask-mobilenet', version: '1.0.0', task: 'classify',
  file: 'model.onnx', sha256: 'a'.repeat(64),
  input: { name: 'input', layout: 'NCHW', width: 128, height: 128, colorOrder: 'RGB', resize: 'letterbox', padColor: [0, 0, 0] },
  preprocess: { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  output: { name: 'logits', kind: 'logits' },
  labels: ['mask', 'no_mask'],
});
