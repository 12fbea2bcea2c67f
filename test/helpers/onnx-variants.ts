// Broken-but-loadable variants of the tiny fixture model (test/fixtures/tiny, opset 13), made by graph
// surgery with onnx-proto: same input, same outputs and shapes, so they pass the load checks, warm-up
// and (for the slow one) test vectors, and only probation can tell them from a good model.
//   nanModel:  logits + ReduceSum((x - x) / (x - x))  → every logit is NaN
//   slowModel: logits + 0 · ReduceSum(W^k) with W an N×N matrix made to depend on the input (no constant
//              folding): k matrix products of N×N per inference, 2·k·N³ flops (17 G at the defaults:
//              ≈ 0.1 s on one fast AVX-512 core, far above probation's 20 ms floor on any CPU). W is made
//              by ConstantOfShape at load, so the file stays as small as the tiny model (a 1024×1024
//              initializer would be a 4 MB bundle, slow to push through a 2 KB-chunk transfer).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = 1;
const INT64 = 7;

function edit(model: Uint8Array, build: (raw: string, out: string) => { nodes: onnxProto.onnx.INodeProto[]; inits: onnxProto.onnx.ITensorProto[] }): Buffer {
  const m = onnx.ModelProto.decode(model);
  const g = m.graph!;
  const head = g.node!.find((n) => (n.output ?? []).includes('logits'))!;
  head.output = ['logits_raw'];
  const { nodes, inits } = build('logits_raw', 'logits');
  g.node = [...g.node!, ...nodes];
  g.initializer = [...(g.initializer ?? []), ...inits];
  return Buffer.from(onnx.ModelProto.encode(m).finish());
}

const node = (opType: string, input: string[], output: string, keepdims?: number) =>
  onnx.NodeProto.create({ opType, input, output: [output], name: `/variant/${output}`, ...(keepdims === undefined ? {} : { attribute: [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: keepdims })] }) });
const tensor = (name: string, dims: number[], values: number[] | Float32Array) => onnx.TensorProto.create({ name, dims, dataType: FLOAT, floatData: Array.from(values) });

export function nanModel(tiny: Uint8Array): Buffer {
  return edit(tiny, (raw, out) => ({
    nodes: [node('Sub', ['input', 'input'], 'v_zero'), node('Div', ['v_zero', 'v_zero'], 'v_nan'), node('ReduceSum', ['v_nan'], 'v_nan_sum', 0), node('Add', [raw, 'v_nan_sum'], out)],
    inits: [],
  }));
}

export function slowModel(tiny: Uint8Array, n = 1024, k = 8): Buffer {
  return edit(tiny, (raw, out) => {
    const fill = onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: tensor('v_fill', [1], [1 / n]) });
    const nodes = [
      onnx.NodeProto.create({ opType: 'ConstantOfShape', input: ['v_shape'], output: ['v_w'], name: '/variant/v_w', attribute: [fill] }),
      node('ReduceSum', ['input'], 'v_x', 0),
      node('Mul', ['v_x', 'v_zero_c'], 'v_x0'),
      node('Add', ['v_w', 'v_x0'], 'v_m0'),
    ];
    for (let i = 0; i < k; i++) nodes.push(node('MatMul', [`v_m${i}`, 'v_w'], `v_m${i + 1}`));
    nodes.push(node('ReduceSum', [`v_m${k}`], 'v_s', 0), node('Mul', ['v_s', 'v_zero_c'], 'v_s0'), node('Add', [raw, 'v_s0'], out));
    const shape = onnx.TensorProto.create({ name: 'v_shape', dims: [2], dataType: INT64, int64Data: [n, n] });
    return { nodes, inits: [tensor('v_zero_c', [], [0]), shape] };
  });
}
