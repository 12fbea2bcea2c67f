// The Edge TPU worker's faces path through the engine conformance suite's faces part, on the repo's scene
// photos, against the onnxruntime worker running the same networks (UltraFace RFB-320, the mask
// classifier). No TFLite runtime, no Edge TPU and no TFLite face detector exist here, so the Edge TPU
// worker runs with the ONNX-backed TEST STAND-IN interpreter (stand_in_onnx.py: OpenCV dnn runs each
// model's ONNX twin; UltraFace's outputs go through an emulated TFLite_Detection_PostProcess). Everything
// else is the worker's own code: frame reading (RGB24, I420), detector input, SSD rows to frame pixels,
// crops, the classifier input, labels and the decision rule. On a Coral only the interpreter differs.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EngineWorker, defaultWorkerCommand } from '../../pipelines/engines/client.js';
import { facesConformance } from '../helpers/engine-conformance.js';
import { maskClassifier, onnxStandInEnv, standInClassifier, standInDetector, ultraface } from '../helpers/edgetpu-stand-in.js';

const scenes = join(import.meta.dirname, '..', 'fixtures', 'scenes');
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

async function started(t: Test, w: EngineWorker): Promise<EngineWorker> {
  t.teardown(() => w.stop(500));
  await w.start();
  return w;
}

facesConformance(t, {
  engine: 'edgetpu (ONNX-backed stand-in interpreter)',
  start: async (t) => {
    const dir = t.testdir({});
    const w = await started(t, new EngineWorker({ command: defaultWorkerCommand('edgetpu'), env: onnxStandInEnv, helloTimeoutMs: 60000, inferTimeoutMs: 30000 }));
    t.equal((await w.load(standInClassifier(dir), ['edgetpu', 'cpu'])).provider, 'stand-in:edgetpu');
    t.equal((await w.loadDetector(standInDetector(dir), ['edgetpu', 'cpu'])).provider, 'stand-in:edgetpu');
    return w;
  },
  reference: async (t) => {
    const w = await started(t, new EngineWorker({ helloTimeoutMs: 60000, inferTimeoutMs: 30000 }));
    await w.load(join(maskClassifier, 'model.json'), ['cpu']);
    await w.loadDetector(join(ultraface, 'model.json'), ['cpu']);
    return w;
  },
  scenes: readdirSync(scenes).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(scenes, f)),
});
