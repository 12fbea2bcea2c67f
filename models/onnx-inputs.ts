// The dimensions of one ONNX graph input, read from the model bytes (onnx-proto): a number for a fixed
// axis, the symbol's name (or "?") for a dynamic one. Used to decide whether a TensorRT optimisation
// profile applies (a dynamic batch axis). Pure.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The input's dims, or null when the graph has no such input (or no shape for it). */
export function onnxInputDims(model: Uint8Array, input: string): (number | string)[] | null {
  const g = onnx.ModelProto.decode(model).graph;
  const v = g?.input?.find((i) => i.name === input);
  const dims = v?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) > 0 ? Number(d.dimValue) : '?'));
}
