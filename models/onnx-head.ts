// Graph surgery on an ONNX classifier: keep the frozen base up to its pooled `features` tensor, drop
// the old head, add a Gemm with new weights. Uses onnx-proto (the ONNX schema compiled for protobufjs).
import onnxProto from 'onnx-proto';
import type { Head } from './head.js';

const { onnx } = onnxProto;
const FLOAT = 1; // TensorProto.DataType.FLOAT

export interface NewHead {
  head: Head;
  /** Name of the new logits output (the manifest's output.name). */
  output: string;
  /** Name of the pooled-feature tensor the head reads (the manifest's `features`). */
  features: string;
  producer?: string;
}

/** Names of the nodes needed to compute `targets` (the ancestors), in the graph's order. */
export function ancestors(nodes: { input?: string[] | null; output?: string[] | null }[], targets: string[]): Set<number> {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const keep = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const t = stack.pop()!;
    const i = producer.get(t);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    stack.push(...(nodes[i].input ?? []).filter(Boolean));
  }
  return keep;
}

/**
 * Replace the head of `model` (ONNX bytes). Returns the new model's bytes: same inputs, outputs
 * [output [batch, classes], features [batch, dim]], nodes = the ancestors of `features` + one Gemm.
 */
export function replaceHead(model: Uint8Array, o: NewHead): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const g = m.graph;
  if (!g) throw new Error('the model has no graph');
  const nodes = g.node ?? [];
  if (!nodes.some((n) => (n.output ?? []).includes(o.features))) throw new Error(`no node produces the features tensor "${o.features}"`);
  const featOut = (g.output ?? []).find((x) => x.name === o.features);
  const featDim = Number(featOut?.type?.tensorType?.shape?.dim?.[1]?.dimValue ?? o.head.dim);
  if (featDim !== o.head.dim) throw new Error(`features "${o.features}" have ${featDim} values but the head expects ${o.head.dim}`);
  const keep = ancestors(nodes, [o.features]);
  const kept = nodes.filter((_n, i) => keep.has(i));
  const wName = `adapt.head.weight`, bName = `adapt.head.bias`;
  kept.push(
    onnx.NodeProto.create({
      name: '/adapt/head/Gemm',
      opType: 'Gemm',
      input: [o.features, wName, bName],
      output: [o.output],
      attribute: [onnx.AttributeProto.create({ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
    }),
  );
  const used = new Set(kept.flatMap((n) => n.input ?? []));
  g.node = kept;
  g.initializer = (g.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  const bytes = (a: Float32Array) => new Uint8Array(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  g.initializer.push(
    onnx.TensorProto.create({ name: wName, dims: [o.head.classes, o.head.dim], dataType: FLOAT, rawData: bytes(o.head.weight) }),
    onnx.TensorProto.create({ name: bName, dims: [o.head.classes], dataType: FLOAT, rawData: bytes(o.head.bias) }),
  );
  const batch = featOut?.type?.tensorType?.shape?.dim?.[0] ?? { dimParam: 'batch' };
  const out = onnx.ValueInfoProto.create({
    name: o.output,
    type: onnx.TypeProto.create({ tensorType: { elemType: FLOAT, shape: { dim: [batch, { dimValue: o.head.classes }] } } }),
  });
  const feat = featOut ?? onnx.ValueInfoProto.create({ name: o.features, type: { tensorType: { elemType: FLOAT, shape: { dim: [batch, { dimValue: o.head.dim }] } } } });
  g.output = [out, feat];
  const produced = new Set(kept.flatMap((n) => n.output ?? []));
  g.valueInfo = (g.valueInfo ?? []).filter((v) => produced.has(v.name ?? '') && v.name !== o.output);
  if (o.producer) m.producerName = o.producer;
  return onnx.ModelProto.encode(m).finish();
}

/** Read back a head's Gemm weights (for tests and reports). */
export function readHead(model: Uint8Array): { weight: Float32Array; bias: Float32Array; dims: number[] } {
  const g = onnx.ModelProto.decode(model).graph!;
  const t = (n: string) => {
    const x = (g.initializer ?? []).find((i) => i.name === n);
    if (!x?.rawData) throw new Error(`no initializer ${n}`);
    const raw = Buffer.from(x.rawData);
    return { data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), dims: (x.dims ?? []).map(Number) };
  };
  const w = t('adapt.head.weight'), b = t('adapt.head.bias');
  return { weight: w.data, bias: b.data, dims: w.dims };
}
