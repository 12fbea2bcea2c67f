// Faces mode hands the sink the classifier's time per face it read (pipelines/modes/faces.ts): what OTA
// probation compares between models. None for a frame without faces (it says nothing about the
// classifier's speed: counted as 0 ms, an empty scene hid a slow model), the batch's time shared by
// every face of the batch, tracked faces that were not read left out.
import t from 'tap';
import { FacesMode } from '../../pipelines/modes/faces.js';
import { MotionReuse } from '../../pipelines/motion-reuse.js';
import type { Engine } from '../../pipelines/engines/engine.js';
import type { FaceResult, FacesResultMsg } from '../../pipelines/engines/protocol.js';
import type { ModeContext } from '../../pipelines/modes/mode.js';
import type { Frame } from '../../pipelines/sources/process-source.js';
import type { Manifest } from '../../models/manifest.js';
import { tinyManifest } from '../helpers/ota-fixtures.js';
import { monoMs } from '../../pipelines/clock.js';

const face = (classified?: boolean): FaceResult => ({ box: [1, 2, 30, 30], crop: [0, 0, 32, 32], detScore: 0.9, label: 'mask', score: 0.9, scores: { mask: 0.9, no_mask: 0.1 }, ...(classified === undefined ? {} : { match: null, classified }) });
const answer = (faces: FaceResult[], classifyMs: number): Omit<FacesResultMsg, 'type' | 'id'> => ({ faces, detectMs: 3, cropMs: 1, classifyMs, classifierRuns: faces.length ? 1 : 0, inferMs: 4 + classifyMs });
let seq = 0;
const frame = (camera: string): Frame => ({ camera, seq: seq++, ts: Date.now(), mono: monoMs(), width: 64, height: 48, format: 'rgb24', data: Buffer.alloc(64 * 48 * 3), hold() {}, release() {} }) as unknown as Frame;

function setup(single: Omit<FacesResultMsg, 'type' | 'id'>[], batch: Omit<FacesResultMsg, 'type' | 'id'>[] = []) {
  const got: { camera: string; ms: number | undefined; faces: number }[] = [];
  const sink = { classified() {}, faces: (r: { camera: string; faces: unknown[] }, _f: Frame, _w: unknown, ms?: number) => void got.push({ camera: r.camera, ms, faces: r.faces.length }) };
  const engine = {
    loaded: { model: { name: 'tiny', version: '2' } },
    detectorLoaded: { model: { name: 'det', version: '1' } },
    faces: async () => single.shift()!,
    facesBatch: async () => ({ results: batch }),
  } as unknown as Engine;
  const ctx: ModeContext = { manifest: tinyManifest() as Manifest, sourceSize: () => null, counted: () => {} };
  return { mode: new FacesMode(sink as never, new MotionReuse()), engine, ctx, got };
}

t.test('one frame: the classifier time per face read; none without faces', async (t) => {
  const { mode, engine, ctx, got } = setup([answer([face(), face()], 10), answer([], 0), answer([face()], 7)]);
  for (let i = 0; i < 3; i++) await mode.run([frame('a')], engine, ctx);
  t.same(got.map((g) => g.ms), [5, undefined, 7], '2 faces in 10 ms: 5 ms each; no face: no time; 1 face: 7 ms');
});

t.test('tracked faces that were not read do not count', async (t) => {
  const { mode, engine, ctx, got } = setup([answer([face(true), face(false), face(false)], 6), answer([face(false)], 0)]);
  await mode.run([frame('a')], engine, ctx);
  await mode.run([frame('a')], engine, ctx);
  t.same(got.map((g) => g.ms), [6, undefined], 'one face read in 6 ms; a frame of carried verdicts: no time');
});

t.test('a batch: its classifier time shared by every face it read', async (t) => {
  // each frame of a batch reports the batch's totals (pipelines/engines/onnxruntime/faces.ts)
  const { mode, engine, ctx, got } = setup([], [answer([face(), face(), face()], 8), answer([face()], 8), answer([], 8)]);
  await mode.run([frame('a'), frame('b'), frame('c')], engine, ctx);
  t.same(got.map((g) => [g.camera, g.ms]), [['a', 2], ['b', 2], ['c', undefined]], '4 faces in 8 ms: 2 ms each; the frame without faces: no time');
});
