// Mixed layouts (D112): the face detector and the classifier in two different engine workers, joined by
// SplitFacesEngine (pipelines/engines/split.ts) over two supervised workers. Both layouts, with real
// workers on the repo's scene photos, against one onnxruntime worker holding both networks:
//   A. UltraFace on the CPU in the onnxruntime worker + the classifier in the Edge TPU worker;
//   B. an SSD face detector in the Edge TPU worker + the classifier (ONNX only) in the onnxruntime worker.
// The Edge TPU worker runs the ONNX-backed TEST STAND-IN interpreter (no TFLite runtime or Edge TPU here).
import t from 'tap';
import { join } from 'node:path';
import sharp from 'sharp';
import { createLogger } from '../../daemon/log.js';
import { EngineWorker, defaultWorkerCommand } from '../../pipelines/engines/client.js';
import { EngineSupervisor, type EngineSupervisorOptions } from '../../pipelines/engines/supervisor.js';
import { SplitFacesEngine } from '../../pipelines/engines/split.js';
import { rgbToI420 } from '../../pipelines/pre/yuv.js';
import type { FacesTracking } from '../../pipelines/engines/protocol.js';
import { frame, sameFaces } from '../helpers/engine-conformance.js';
import { maskClassifier, onnxStandInEnv, standInClassifier, standInDetector, ultraface } from '../helpers/edgetpu-stand-in.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];
const scenes = join(import.meta.dirname, '..', 'fixtures', 'scenes');
const log = createLogger('warn', () => undefined);
const edgetpu = { command: defaultWorkerCommand('edgetpu'), env: onnxStandInEnv, helloTimeoutMs: 60000 };

function supervised(t: Test, o: Pick<EngineSupervisorOptions, 'manifestPath' | 'executionProviders'> & Partial<EngineSupervisorOptions>): EngineSupervisor {
  const e = new EngineSupervisor({ threads: 1, inferTimeoutMs: 30000, restartMinMs: 100, restartMaxMs: 1000, worker: { helloTimeoutMs: 60000 }, ...o }, log);
  t.teardown(() => e.stop());
  return e;
}

async function reference(t: Test): Promise<EngineWorker> {
  const w = new EngineWorker({ helloTimeoutMs: 60000, inferTimeoutMs: 30000 });
  t.teardown(() => w.stop(500));
  await w.start();
  await w.load(join(maskClassifier, 'model.json'), ['cpu']);
  await w.loadDetector(join(ultraface, 'model.json'), ['cpu']);
  return w;
}

const photo = async (f: string) => {
  const { data, info } = await sharp(join(scenes, f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, i420: rgbToI420(data, info.width, info.height), width: info.width, height: info.height };
};
const PHOTOS = ['coral-face.jpg', 'linzaer-masked-img7.jpg', 'linzaer-imgs-19.jpg', 'aizoo-demo2.jpg'];

async function checkLayout(t: Test, split: SplitFacesEngine, detectorProvider: string, classifierProvider: string) {
  const [loaded, ref] = await Promise.all([split.start(), reference(t)]);
  t.equal(split.state, 'ready');
  t.equal(loaded.provider, classifierProvider, 'start() answers the classifier');
  t.equal(split.loaded?.provider, classifierProvider);
  t.equal(split.detectorLoaded?.provider, detectorProvider);
  t.equal(split.detectorLoaded?.model.name.includes('ultraface'), true, 'the detector worker loaded the detector');
  let n = 0;
  for (const f of PHOTOS) {
    const p = await photo(f);
    const a = await split.faces(p.i420, p.width, p.height, {}, 'i420');
    const b = await ref.faces(p.i420, p.width, p.height, {}, 'i420');
    n += sameFaces(t, `${f} i420`, a.faces, b.faces);
    t.equal(a.type, 'facesResult');
    t.ok(a.classifierRuns >= (a.faces.length ? 1 : 0) && a.inferMs >= a.detectMs, `${f}: runs and times`);
  }
  t.ok(n >= 15, `${n} faces labelled as by one worker`);
  // a batch across cameras, one of them empty
  const ps = await Promise.all(PHOTOS.slice(0, 2).map(photo));
  const frames = [...ps.map((p) => ({ data: p.data, width: p.width, height: p.height })), { data: frame(320, 240, [40, 40, 40]), width: 320, height: 240 }];
  const batch = await split.facesBatch(frames, {});
  const refBatch = await ref.facesBatch(frames);
  t.equal(batch.results.length, 3);
  batch.results.forEach((r, i) => sameFaces(t, `batch frame ${i}`, r.faces, refBatch.results[i].faces));
  t.same(batch.results[2].faces, []);
  return { ref, ps };
}

t.test('A: UltraFace on the CPU (onnxruntime worker) + classifier on the Edge TPU worker', async (t) => {
  const dir = t.testdir({});
  const split = new SplitFacesEngine(
    supervised(t, { manifestPath: join(ultraface, 'model.json'), detectorOnly: true, executionProviders: ['cpu'] }),
    supervised(t, { manifestPath: standInClassifier(dir), executionProviders: ['edgetpu', 'cpu'], worker: edgetpu }),
  );
  const { ref, ps } = await checkLayout(t, split, 'cpu', 'stand-in:edgetpu');
  // tracking (issue 14): the detector's worker selects which faces need a reading; only those go to the classifier
  const p = ps[1];
  const first = await ref.faces(p.data, p.width, p.height);
  const tracking: FacesTracking = { tracks: first.faces.map((f, i) => ({ id: i + 1, box: f.box, read: i % 2 === 0, growArea: 1e9 })), high: 0.7, low: 0.3, iou: 0.3, lowIou: 0.5 };
  const a = await split.faces(p.data, p.width, p.height, { tracking });
  const b = await ref.faces(p.data, p.width, p.height, { tracking });
  sameFaces(t, 'with tracking', a.faces, b.faces);
  t.same(a.faces.map((f) => [f.match, f.classified, f.label === '']), b.faces.map((f) => [f.match, f.classified, !f.classified]), 'matches and readings as one worker decides them');
  t.ok(a.faces.some((f) => f.classified === false) && a.faces.some((f) => f.classified), 'some faces read, some not');
  t.equal(a.classifierRuns, a.faces.filter((f) => f.classified).length, 'one Edge TPU invoke per face read, none for the others');
});

t.test('B: SSD face detector on the Edge TPU worker + classifier (ONNX only) on the CPU', async (t) => {
  const dir = t.testdir({});
  const split = new SplitFacesEngine(
    supervised(t, { manifestPath: standInDetector(dir), detectorOnly: true, executionProviders: ['edgetpu', 'cpu'], worker: edgetpu }),
    supervised(t, { manifestPath: join(maskClassifier, 'model.json'), executionProviders: ['cpu'] }),
  );
  await checkLayout(t, split, 'stand-in:edgetpu', 'cpu');
});

t.test('a detector worker that does not start stops the other and rejects', async (t) => {
  const split = new SplitFacesEngine(
    supervised(t, { manifestPath: '/nonexistent/model.json', detectorOnly: true, executionProviders: ['cpu'] }),
    supervised(t, { manifestPath: join(maskClassifier, 'model.json'), executionProviders: ['cpu'] }),
  );
  await t.rejects(split.start(), /nonexistent/);
  t.equal(split.classifier.state, 'stopped');
  t.equal(split.ready, false);
});
