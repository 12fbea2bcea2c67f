// The tracker, track verdicts and per-person events on synthetic trajectories (pipelines/tracking/).
import t from 'tap';
import { associate, boxIou, type Box } from '../../pipelines/tracking/associate.js';
import { kalmanBox, kalmanInit, kalmanPredict, kalmanUpdate } from '../../pipelines/tracking/kalman.js';
import { Tracker } from '../../pipelines/tracking/tracker.js';
import { CADENCE, CameraPeople, type DetectedFace, type PersonEvent } from '../../pipelines/tracking/people.js';
import { decideLabel, TrackVerdict, READING_DEFAULTS } from '../../pipelines/tracking/verdict.js';
import { PeopleCounts } from '../../pipelines/tracking/counts.js';
import { selectForReading } from '../../pipelines/tracking/select.js';
import { ASSOCIATION_DEFAULTS } from '../../pipelines/tracking/associate.js';

const face = (box: Box, noMask = 0.9, detScore = 0.95): DetectedFace => ({ box, detScore, label: noMask >= 0.5 ? 'no_mask' : 'mask', score: Math.max(noMask, 1 - noMask), scores: { mask: 1 - noMask, no_mask: noMask } });

/** What the engine worker answers with tracking hints: associated, classified only where needed. */
function worker(cam: CameraPeople, seq: number, dets: DetectedFace[]): DetectedFace[] {
  const sel = selectForReading(cam.hints(seq), dets, { ...ASSOCIATION_DEFAULTS, high: 0.7 });
  return sel.keep.map((i, k) => (sel.classify[k] ? { ...dets[i], match: sel.match[k], classified: true } : { ...dets[i], label: '', score: 0, scores: {}, match: sel.match[k], classified: false }));
}

/** Run frames of detections through a camera (and the worker's selection); every event and the track ids per frame. */
function run(cam: CameraPeople, frames: DetectedFace[][], first = 0) {
  const events: PersonEvent[] = [];
  const ids: number[][] = [];
  frames.forEach((dets, i) => {
    const seq = first + i;
    const o = cam.detected(seq, 1_000_000 + seq * 100, worker(cam, seq, dets));
    events.push(...o.events);
    ids.push(o.faces.map((f) => f.track));
  });
  return { events, ids };
}
const types = (ev: PersonEvent[]) => ev.map((e) => `${e.type}:${e.track}`);

t.test('IoU and the Kalman filter follow a box moving at constant speed', async (t) => {
  t.equal(boxIou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  t.equal(boxIou([0, 0, 10, 10], [10, 0, 10, 10]), 0);
  t.ok(Math.abs(boxIou([0, 0, 10, 10], [5, 0, 10, 10]) - 1 / 3) < 1e-9);
  let s = kalmanInit([100, 100, 50, 50]);
  for (let i = 1; i <= 10; i++) s = kalmanUpdate(kalmanPredict(s, 1), [100 + 10 * i, 100, 50, 50]);
  const p = kalmanBox(kalmanPredict(s, 3)); // 3 frames ahead: x ≈ 230
  t.ok(Math.abs(p[0] - 230) < 6, `predicted x ${p[0].toFixed(1)} ≈ 230`);
  t.ok(Math.abs(p[2] - 50) < 2);
});

t.test('association: confident faces first, a weak one only continues a track', async (t) => {
  const tracks = [{ id: 1, box: [0, 0, 100, 100] as Box }, { id: 2, box: [300, 0, 100, 100] as Box }];
  const a = associate(tracks, [{ box: [305, 5, 100, 100], detScore: 0.95 }, { box: [10, 0, 100, 100], detScore: 0.6 }, { box: [700, 0, 50, 50], detScore: 0.6 }], { high: 0.7, iou: 0.3, lowIou: 0.5 });
  t.same(a, [2, 1, null]);
  // a weak detection needs more overlap than a confident one
  t.same(associate(tracks, [{ box: [50, 0, 100, 100], detScore: 0.6 }], { high: 0.7, iou: 0.3, lowIou: 0.5 }), [null]);
  t.same(associate(tracks, [{ box: [50, 0, 100, 100], detScore: 0.9 }], { high: 0.7, iou: 0.3, lowIou: 0.5 }), [1]);
});

t.test('association gates (D152): a box 1.36x taller continues its track; only a lost face behind someone is recovered by distance', async (t) => {
  const o = { high: 0.7, iou: 0.3, lowIou: 0.5 };
  // the detector's box on a small face jumps from 61 to 83 px between frames (centre unmoved)
  t.same(associate([{ id: 1, box: [629, 172, 45, 61] }], [{ box: [616, 161, 68, 83], detScore: 0.86 }], o), [1], 'within the size gate (1.4)');
  t.same(associate([{ id: 1, box: [629, 172, 45, 61] }], [{ box: [610, 150, 80, 100], detScore: 0.86 }], o), [null], 'a box 1.64x taller is someone else');
  // a lost face, 140 px from a new face of the same height and no overlap: recovered only when hidden behind a track
  const lost = { id: 7, box: [393, 98, 100, 150] as Box, lost: true };
  const det = [{ box: [255, 135, 90, 135] as Box, detScore: 0.95 }];
  t.same(associate([lost], det, o), [null], 'lost in the open: the newcomer is a new person');
  t.same(associate([lost, { id: 3, box: [430, 120, 100, 150] as Box }], det, o), [7], 'lost behind track 3: recovered');
  t.same(associate([lost, { id: 3, box: [900, 120, 100, 150] as Box }], det, o), [null], 'another track elsewhere does not count');
});

t.test('a person: enter after minHits, one verdict, leave after maxLostFrames with duration', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 3, maxLostFrames: 5, association: { ...ASSOCIATION_DEFAULTS, high: 0.7 } } });
  const frames = Array.from({ length: 20 }, (_, i) => [face([100 + 5 * i, 100, 80 + i, 80 + i], 0.95)]);
  const { events, ids } = run(cam, [...frames, ...Array.from({ length: 7 }, () => [])]);
  t.same(types(events), ['enter:1', 'verdict:1', 'leave:1']);
  t.ok(ids.slice(0, 20).every((x) => x.length === 1 && x[0] === 1), 'one track id on every frame');
  const leave = events[2];
  t.equal(leave.label, 'no_mask');
  t.equal(leave.durationMs, 1900);
  t.ok(leave.readings >= 1 && leave.readings <= 4, `classified ${leave.readings} times in 20 frames, not 20`);
  t.equal(events[0].person, 'cam1:1000000:1');
  t.same(leave.box, [195, 100, 99, 99], 'the best (largest) face');
});

t.test('a visit across a step of the wall clock (NTP after boot, D165): its duration from the monotonic clock, its stamps from the wall clock', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 3, maxLostFrames: 5, association: { ...ASSOCIATION_DEFAULTS, high: 0.7 } } });
  const YEAR = 365 * 24 * 3600_000;
  const events: PersonEvent[] = [];
  for (let seq = 0; seq < 27; seq++) {
    const dets = seq < 20 ? [face([100 + 5 * seq, 100, 80 + seq, 80 + seq], 0.95)] : [];
    // the wall clock steps a year forward at frame 10; the monotonic clock goes on
    const wall = 1_000_000 + seq * 100 + (seq >= 10 ? YEAR : 0);
    events.push(...cam.detected(seq, wall, worker(cam, seq, dets), 5_000 + seq * 100).events);
  }
  const leave = events.find((e) => e.type === 'leave')!;
  t.equal(leave.durationMs, 1900, 'the 20 frames of the visit, not a year');
  t.equal(leave.at, new Date(1_000_000 + 19 * 100 + YEAR).toISOString(), 'left at the last frame, on the wall clock');
});

t.test('detector flicker (a false box for 1-2 frames) makes no phantom person', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 3, maxLostFrames: 5 } });
  const frames: DetectedFace[][] = Array.from({ length: 40 }, (_, i) => [face([100, 100, 80, 80])]);
  frames[5].push(face([600, 300, 40, 40], 0.5, 0.9));
  frames[12].push(face([900, 200, 40, 40], 0.5, 0.9));
  frames[13].push(face([902, 201, 40, 40], 0.5, 0.9));
  frames[30].push(face([100, 500, 60, 60], 0.5, 0.9));
  frames[31].push(face([300, 500, 60, 60], 0.5, 0.9)); // elsewhere: not the same box
  const { events } = run(cam, frames);
  t.same(types(events), ['enter:1', 'verdict:1'], 'only the real person enters');
});

t.test('a face hidden for a few frames keeps its id; leaving and coming back later is a new person', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 3, maxLostFrames: 8 } });
  const at = (i: number) => face([100 + 8 * i, 200, 90, 90]);
  const frames: DetectedFace[][] = Array.from({ length: 30 }, (_, i) => (i >= 10 && i < 16 ? [] : [at(i)])); // hidden 6 frames
  const { events, ids } = run(cam, frames);
  t.same(types(events), ['enter:1', 'verdict:1']);
  t.same([...new Set(ids.flat())], [1]);
  // gone for 20 frames, back at the door
  const later = run(cam, [...Array.from({ length: 20 }, () => []), ...Array.from({ length: 10 }, (_, i) => [face([100, 200, 90, 90])])], 30);
  t.same(types(later.events), ['leave:1', 'enter:2', 'verdict:2']);
});

t.test('two people crossing, the one behind hidden while they overlap: no ID switch', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 3, maxLostFrames: 10 } });
  const N = 60;
  const frames: DetectedFace[][] = [];
  const truth: [number, number][] = [];
  for (let i = 0; i < N; i++) {
    const a: Box = [100 + 15 * i, 300, 100, 100]; // walks right, in front
    const b: Box = [1000 - 15 * i, 310, 90, 90]; // walks left, behind
    const hidden = boxIou(a, b) > 0.1;
    frames.push(hidden ? [face(a, 0.9)] : [face(a, 0.9), face(b, 0.1)]);
    truth.push([0, hidden ? -1 : 1]);
  }
  const { events, ids } = run(cam, frames);
  const enters = events.filter((e) => e.type === 'enter');
  t.equal(enters.length, 2, 'two people');
  const ida = ids[0][0], idb = ids[0][1];
  t.ok(ids.every((x) => x[0] === ida), 'the walker in front keeps its id');
  t.ok(ids.filter((x) => x.length === 2).every((x) => x[1] === idb), 'the one behind keeps its id after the crossing');
  t.ok(frames.some((f) => f.length === 1), 'there was an occlusion');
  // verdicts per person
  const verdicts = events.filter((e) => e.type === 'verdict');
  t.same(verdicts.map((v) => [v.track, v.label]).sort(), [[ida, 'no_mask'], [idb, 'mask']].sort());
});

t.test('the worker-side association is used as is when consistent, recomputed when not', async (t) => {
  const tr = new Tracker({ minHits: 1 });
  tr.update(0, [{ box: [0, 0, 50, 50], detScore: 0.9 }]);
  tr.update(1, [{ box: [200, 0, 50, 50], detScore: 0.9 }]);
  const u = tr.update(2, [{ box: [2, 0, 50, 50], detScore: 0.9 }], [1]);
  t.same(u.assigned, [1]);
  const bad = tr.update(3, [{ box: [4, 0, 50, 50], detScore: 0.9 }, { box: [200, 0, 50, 50], detScore: 0.9 }], [7, 7]);
  t.same(bad.assigned, [1, 2], 'an unknown or repeated id: computed here');
});

t.test('reading policy: new, grown, uncertain, every K frames', async (t) => {
  const v = new TrackVerdict();
  const p = { ...READING_DEFAULTS, everyFrames: 10, growth: 1.5, uncertain: 0.8, maxUncertainReadings: 3 };
  t.equal(v.needsReading(0, p).read, true, 'never read');
  v.add(0, { mask: 0.05, no_mask: 0.95 }, [0, 0, 100, 100], 0.9);
  t.same(v.needsReading(5, p), { read: false, growArea: 15000 });
  t.equal(v.needsReading(10, p).read, true, 'K frames later');
  const u = new TrackVerdict();
  u.add(0, { mask: 0.4, no_mask: 0.6 }, [0, 0, 100, 100], 0.9);
  t.equal(u.needsReading(1, p).read, true, 'uncertain');
  u.add(1, { mask: 0.4, no_mask: 0.6 }, [0, 0, 100, 100], 0.9);
  u.add(2, { mask: 0.4, no_mask: 0.6 }, [0, 0, 100, 100], 0.9);
  t.equal(u.needsReading(3, p).read, false, 'uncertain but read enough: back to every K');
  // weighting: a large confident face outweighs a small one
  const w = new TrackVerdict();
  w.add(0, { mask: 0.9, no_mask: 0.1 }, [0, 0, 20, 20], 0.8);
  w.add(1, { mask: 0.2, no_mask: 0.8 }, [0, 0, 120, 120], 0.95);
  t.equal(w.verdict()!.label, 'no_mask');
});

t.test('the decision rule: argmax, or the manifest rule (no_mask when p(no_mask) ≥ threshold) when the model has one', async (t) => {
  t.same(decideLabel({ mask: 0.7, no_mask: 0.3 }), { label: 'mask', score: 0.7 });
  t.same(decideLabel({ mask: 0.7, no_mask: 0.3 }, { label: 'no_mask', threshold: 0.25 }), { label: 'no_mask', score: 0.3 });
  t.same(decideLabel({ mask: 0.8, no_mask: 0.2 }, { label: 'no_mask', threshold: 0.25 }), { label: 'mask', score: 0.8 });
});

t.test('cadence: the detector every 3rd frame, tracks carried by prediction in between', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 2, maxLostFrames: 10 }, detectEvery: 3 });
  t.equal(cam.shouldDetect(0), true);
  const seen: number[] = [];
  const boxesPredicted: number[] = [];
  for (let seq = 0; seq < 30; seq++) {
    const box: Box = [100 + 10 * seq, 100, 80, 80];
    if (cam.shouldDetect(seq)) {
      seen.push(seq);
      cam.detected(seq, seq * 100, worker(cam, seq, [face(box)]));
    } else {
      const o = cam.predicted(seq, seq * 100);
      if (seq > 6) {
        t.equal(o.faces.length, 1);
        boxesPredicted.push(Math.abs(o.faces[0].box[0] - box[0]));
        t.equal(o.faces[0].classified, false);
      }
    }
  }
  t.same(seen, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  t.ok(Math.max(...boxesPredicted) < 8, `predicted boxes within ${Math.max(...boxesPredicted).toFixed(1)} px`);
});

t.test('adaptive cadence (D96): drops raise it up to detectEveryMax, paced; frames without drops lower it again', async (t) => {
  const cam = new CameraPeople('cam1', { tracker: { minHits: 1, maxLostFrames: 10 }, detectEvery: 1, detectEveryMax: 3 });
  const step = (seq: number) => {
    const box: Box = [100 + 2 * seq, 100, 80, 80];
    if (cam.shouldDetect(seq)) {
      cam.detected(seq, seq * 100, worker(cam, seq, [face(box)]));
      return true;
    }
    cam.predicted(seq, seq * 100);
    return false;
  };
  for (let seq = 0; seq < 5; seq++) t.equal(step(seq), true, `frame ${seq} detected at cadence 1`);
  cam.dropped(1);
  cam.dropped(1 + CADENCE.WINDOW);
  t.equal(cam.cadence, 1, `single drops ${CADENCE.WINDOW} frames apart are a hiccup, not load`);
  const burst = (from: number) => { for (let i = 0; i < CADENCE.RAISE_DROPS; i++) cam.dropped(from + i); };
  burst(3 + CADENCE.WINDOW);
  t.equal(cam.cadence, 2, `${CADENCE.RAISE_DROPS} drops within ${CADENCE.WINDOW} frames raise the cadence`);
  burst(6 + CADENCE.WINDOW);
  t.equal(cam.cadence, 2, `more drops within ${CADENCE.RAISE_GAP} frames of the raise do not raise it again`);
  burst(3 + CADENCE.WINDOW + CADENCE.RAISE_GAP);
  t.equal(cam.cadence, 3, 'drops after the gap raise it again');
  burst(3 + CADENCE.WINDOW + 3 * CADENCE.RAISE_GAP);
  t.equal(cam.cadence, 3, 'never above detectEveryMax');
  const detected: number[] = [];
  const after = 5 + CADENCE.WINDOW + 3 * CADENCE.RAISE_GAP;
  for (let seq = after; seq < after + 12; seq++) if (step(seq)) detected.push(seq);
  t.ok(detected.length >= 4 && detected.length <= 5, `every 3rd frame detected while loaded: ${detected}`);
  // no drops for RELAX_FRAMES frames after the last raise or drop: one step down each time
  const last = 3 + CADENCE.WINDOW + 3 * CADENCE.RAISE_GAP + CADENCE.RAISE_DROPS - 1;
  for (let seq = after + 12; seq < last + CADENCE.RELAX_FRAMES; seq++) step(seq);
  t.equal(cam.cadence, 3, 'still 3 just before the relax interval');
  step(last + CADENCE.RELAX_FRAMES);
  t.equal(cam.cadence, 2, 'one step down after RELAX_FRAMES without a drop');
  for (let seq = last + CADENCE.RELAX_FRAMES + 1; seq <= last + 2 * CADENCE.RELAX_FRAMES; seq++) step(seq);
  t.equal(cam.cadence, 1, 'back to detectEvery');

  const fixed = new CameraPeople('cam2', { detectEvery: 2 });
  for (let s = 1; s < 20; s++) fixed.dropped(s);
  t.equal(fixed.cadence, 2, 'without detectEveryMax the cadence is fixed');
  t.equal(new CameraPeople('cam3', { detectEvery: 4, detectEveryMax: 2 }).detectEveryMax, 4, 'a max below detectEvery is detectEvery');
});

t.test('counts: since start and over the last hour', async (t) => {
  const c = new PeopleCounts();
  c.camera('cam2');
  c.add('cam1', 'no_mask', 0);
  c.add('cam1', 'mask', 30 * 60000);
  c.add('cam1', 'no_mask', 70 * 60000);
  c.add('cam1', null, 70 * 60000);
  t.same(c.report(80 * 60000), { cam2: { total: { mask: 0, no_mask: 0 }, hour: { mask: 0, no_mask: 0 } }, cam1: { total: { mask: 1, no_mask: 2 }, hour: { mask: 1, no_mask: 1 } } });
});
