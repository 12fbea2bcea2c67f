// What a model file says about itself: the ONNX graph's metadata_props (string key/value pairs),
// where the training recipes write the labels and the preprocessing, so that `edgectl push
// model.onnx` can describe a model without a manifest beside it. Pure: bytes in, bytes out.
import onnxProto from 'onnx-proto';
import type { ColorOrder, OutputKind, Preprocess, Resize } from './manifest.js';

const { onnx } = onnxProto;

/** metadata_props keys (namespaced: other tools write their own keys into the same list). */
export const META_KEYS = {
  labels: 'mobilenet_edge.labels',
  preprocess: 'mobilenet_edge.preprocess',
  outputKind: 'mobilenet_edge.output_kind',
  colorOrder: 'mobilenet_edge.color_order',
  resize: 'mobilenet_edge.resize',
  name: 'mobilenet_edge.name',
} as const;

export interface ModelMetadata {
  labels?: string[];
  preprocess?: Preprocess;
  outputKind?: OutputKind;
  colorOrder?: ColorOrder;
  resize?: Resize;
  name?: string;
}

/** The metadata as key/value strings (JSON for labels and preprocess), for ONNX's metadata_props. */
export function metadataProps(m: ModelMetadata): Record<string, string> {
  const out: Record<string, string> = {};
  if (m.labels) out[META_KEYS.labels] = JSON.stringify(m.labels);
  if (m.preprocess) out[META_KEYS.preprocess] = JSON.stringify({ scale: m.preprocess.scale, mean: m.preprocess.mean, std: m.preprocess.std });
  if (m.outputKind) out[META_KEYS.outputKind] = m.outputKind;
  if (m.colorOrder) out[META_KEYS.colorOrder] = m.colorOrder;
  if (m.resize) out[META_KEYS.resize] = m.resize;
  if (m.name) out[META_KEYS.name] = m.name;
  return out;
}

/** Parse our keys out of metadata_props; a key present with a bad value throws naming it. */
export function parseMetadata(props: Record<string, string>): ModelMetadata {
  const m: ModelMetadata = {};
  const json = (k: string) => {
    try {
      return JSON.parse(props[k]);
    } catch {
      throw new Error(`ONNX metadata ${k} is not JSON: ${JSON.stringify(props[k].slice(0, 80))}`);
    }
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[]): T => {
    if (!allowed.includes(props[k] as T)) throw new Error(`ONNX metadata ${k} is ${JSON.stringify(props[k])}, expected one of ${allowed.join(', ')}`);
    return props[k] as T;
  };
  if (META_KEYS.labels in props) {
    const l = json(META_KEYS.labels);
    if (!Array.isArray(l) || !l.length || !l.every((x) => typeof x === 'string')) throw new Error(`ONNX metadata ${META_KEYS.labels} must be a JSON array of label strings`);
    m.labels = l;
  }
  if (META_KEYS.preprocess in props) {
    const p = json(META_KEYS.preprocess);
    const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === 'number');
    if (typeof p?.scale !== 'number' || !triple(p.mean) || !triple(p.std)) throw new Error(`ONNX metadata ${META_KEYS.preprocess} must be {"scale": n, "mean": [3 numbers], "std": [3 numbers]}`);
    m.preprocess = { scale: p.scale, mean: p.mean, std: p.std };
  }
  if (META_KEYS.outputKind in props) m.outputKind = oneOf(META_KEYS.outputKind, ['logits', 'probabilities'] as const);
  if (META_KEYS.colorOrder in props) m.colorOrder = oneOf(META_KEYS.colorOrder, ['RGB', 'BGR'] as const);
  if (META_KEYS.resize in props) m.resize = oneOf(META_KEYS.resize, ['letterbox', 'stretch'] as const);
  if (META_KEYS.name in props) m.name = props[META_KEYS.name];
  return m;
}

/** Every metadata_props entry of an ONNX model. Throws when the bytes are not an ONNX model. */
export function readMetadataProps(model: Uint8Array): Record<string, string> {
  const decoded = onnx.ModelProto.decode(model);
  return Object.fromEntries((decoded.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}

/** The model's bytes with `props` set in metadata_props (other entries kept, ours replaced). */
export function withMetadataProps(model: Uint8Array, props: Record<string, string>): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const kept = (m.metadataProps ?? []).filter((p) => !((p.key ?? '') in props));
  m.metadataProps = [...kept, ...Object.entries(props).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))];
  return onnx.ModelProto.encode(m).finish();
}
