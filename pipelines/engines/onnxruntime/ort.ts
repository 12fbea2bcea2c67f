// Which onnxruntime-node the worker runs. By default the npm package in node_modules. With
// MOBILENET_EDGE_ONNXRUNTIME set to the folder of another onnxruntime-node package (the CUDA/TensorRT
// build of deploy/jetson/build-onnxruntime.sh, installed outside node_modules so that `npm ci` cannot
// overwrite it) that one is loaded instead: its dist/, bin/ (the binding and the provider libraries)
// and its node_modules/onnxruntime-common. The worker reports which one in its hello.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

type Ort = typeof import('onnxruntime-node');

export const ONNXRUNTIME_ENV = 'MOBILENET_EDGE_ONNXRUNTIME';

/** The folder of the onnxruntime-node package in use, or null for the npm one. */
export const ortFolder: string | null = process.env[ONNXRUNTIME_ENV] ? resolve(process.env[ONNXRUNTIME_ENV]!) : null;

/** Only one of the two is ever loaded: both would register their backends with onnxruntime-common. */
async function load(): Promise<Ort> {
  if (!ortFolder) return import('onnxruntime-node');
  try {
    return createRequire(import.meta.url)(ortFolder) as Ort;
  } catch (e) {
    // One clear line (the supervisor reports the worker's last stderr lines), and the worker ends.
    process.stderr.write(`engine worker: ${ONNXRUNTIME_ENV}=${ortFolder}: cannot load onnxruntime-node from there: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(70);
  }
}

export const ort: Ort = await load();
