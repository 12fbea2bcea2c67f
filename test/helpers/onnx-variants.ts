// Broken-but-loadable variants of the tiny fixture model (test/fixtures/tiny, opset 13), made by graph
// surgery with onnx-proto: same input, same outputs and shapes, so they pass the load checks, warm-up
// and (for the slow one) test vectors, and only probation can tell them from a good model.
//   nanModel:  logits + ReduceSum((x - x) / (x - x))  → every logit is NaN
//   slowModel: logits + 0 · ReduceSum(W^k) with W an N×N matrix made to depend on the input (no constant
//              folding): k matrix products of N×N per inference.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = 1;

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

export function slowModel(tiny: Uint8Array, n = 384, k = 8): Buffer {
  return edit(tiny, (raw, out) => {
    const nodes = [node('ReduceSum', ['input'], 'v_x', 0), node('Mul', ['v_x', 'v_zero_c'], 'v_x0'), node('Add', ['v_w', 'v_x0'], 'v_m0')];
    for (let i = 0; i < k; i++) nodes.push(node('MatMul', [`v_m${i}`, 'v_w'], `v_m${i + 1}`));
    nodes.push(node('ReduceSum', [`v_m${k}`], 'v_s', 0), node('Mul', ['v_s', 'v_zero_c'], 'v_s0'), node('Add', [raw, 'v_s0'], out));
    return { nodes, inits: [tensor('v_zero_c', [], [0]), tensor('v_w', [n, n], new Float32Array(n * n).fill(1 / n))] };
  });
}
