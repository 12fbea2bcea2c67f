// The dimensions of one ONNX graph input or output, read from the model bytes (onnx-proto): a number for
// a fixed axis, the symbol's name (or "?") for a dynamic one. Inputs decide whether a TensorRT
// optimisation profile applies (a dynamic batch axis); outputs give e.g. a classifier's feature size. Pure.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

function dimsOf(model: Uint8Array, side: 'input' | 'output', name: string): (number | string)[] | null {
  const g = onnx.ModelProto.decode(model).graph;
  const v = g?.[side]?.find((i) => i.name === name);
  const dims = v?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) > 0 ? Number(d.dimValue) : '?'));
}

/** The input's dims, or null when the graph has no such input (or no shape for it). */
export function onnxInputDims(model: Uint8Array, input: string): (number | string)[] | null {
  return dimsOf(model, 'input', input);
}

/** The output's dims, or null when the graph has no such output (or no shape for it). */
export function onnxOutputDims(model: Uint8Array, output: string): (number | string)[] | null {
  return dimsOf(model, 'output', output);
}
