// edgectl's onnxruntime sessions: CPU only (a tool, not the supervisor), quiet, with the graph's
// I/O in the shape models/manifest.ts checks against.
import * as ort from 'onnxruntime-node';
import type { GraphIO } from '../models/manifest.js';

export async function openCpuSession(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<{ session: ort.InferenceSession; io: GraphIO }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], logSeverityLevel: 3, ...options });
  const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]) => meta.map((x) => ({ name: x.name, shape: x.isTensor ? [...x.shape] : [] }));
  return { session, io: { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) } };
}
