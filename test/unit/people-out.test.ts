// People outputs, pure parts: edgectl watch --people rows, Home Assistant people sensors, snapshot
// region and pixelation, the one frame-pixels access, the worker's tracking-hint check and selection.
import t from 'tap';
import { formatPersonRow, PEOPLE_HEADER } from '../../deploy/watch.js';
import { discoveryMessages } from '../../daemon/mqtt/homeassistant.js';
import { pixelate, snapshotRegion, encodeJpeg } from '../../pipelines/tracking/snapshot.js';
import sharp from 'sharp';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSlotParts } from '../../pipelines/engines/slots.js';
import { keepFrameRegion, regionPixels } from '../../pipelines/tracking/frame-pixels.js';
import { resampleRegionI420, rgbToI420 } from '../../pipelines/pre/yuv.js';
import { trackingProblem } from '../../pipelines/engines/onnxruntime/faces.js';
import { selectForReading } from '../../pipelines/tracking/select.js';
import { PeopleStage } from '../../pipelines/tracking/stage.js';
import type { PersonEvent } from '../../pipelines/tracking/people.js';

/** A rectangle of a frame as RGB24, the way a snapshot gets it. */
const copyFrameRegion = (...a: Parameters<typeof keepFrameRegion>) => regionPixels(keepFrameRegion(...a));

t.test('edgectl watch --people: one row per event', async (t) => {
  const row = formatPersonRow('hq/door/mask/events', JSON.stringify({ type: 'leave', camera: 'door', track: 7, person: 'door:1:7', at: '2026-12-02T10:11:12.345Z', label: 'no_mask', score: 0.91234, box: [1, 2, 3, 4], readings: 3, durationMs: 4200, snapshot: true }));
  t.equal(row, '10:11:12.345 door       leave    #7       no_mask    0.912        3     4.2 s  yes');
  t.ok(PEOPLE_HEADER.startsWith('time'));
  t.equal(formatPersonRow('hq/door/mask/events', '{"type":"other"}'), null);
  t.equal(formatPersonRow('hq/door/mask/events', 'not json'), null);
  t.match(formatPersonRow('hq/edge-1/status', 'offline'), /edge-1 is offline/);
});

t.test('Home Assistant: people sensors read the health topic when people are counted', async (t) => {
  const base = { prefix: 'homeassistant', site: 'hq', deviceId: 'edge-7', statusTopic: 'hq/edge-7/status', stateTopic: (c: string) => `hq/${c}/mask/state`, cameras: ['door'], version: '0.1.0' };
  t.equal(discoveryMessages(base).length, 3, 'without people: as before');
  const msgs = discoveryMessages({ ...base, healthTopic: 'hq/edge-7/health' });
  const people = msgs.filter((m) => m.topic.includes('_people_')).map((m) => ({ topic: m.topic, ...JSON.parse(m.payload) }));
  t.equal(people.length, 4);
  const total = people.find((p) => p.topic === 'homeassistant/sensor/hq_edge-7_door_people_no_mask_total/config');
  t.equal(total.state_topic, 'hq/edge-7/health');
  t.equal(total.value_template, '{{ value_json.people["door"].total.no_mask }}');
  t.equal(total.state_class, 'total_increasing');
  t.equal(people.find((p) => p.topic.endsWith('_people_mask_hour/config')).value_template, '{{ value_json.people["door"].hour.mask }}');
});

t.test('snapshots: region around the face, bystanders pixelated, frame pixels copied once', async (t) => {
  t.same(snapshotRegion([100, 100, 50, 60], 1280, 720), { left: 75, top: 70, width: 100, height: 120 });
  t.same(snapshotRegion([0, 0, 50, 60], 60, 60), { left: 0, top: 0, width: 60, height: 60 }, 'clipped');
  const w = 4, h = 2;
  const frame = { data: Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => i)), width: w, height: h };
  const px = copyFrameRegion(frame, { left: 1, top: 0, width: 2, height: 2 });
  t.same([...px.data], [3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20]);
  frame.data.fill(0);
  t.equal(px.data[0], 3, 'a copy: the frame buffer may be reused');
  // an I420 frame (faces cameras): the region comes back as RGB24
  const rgb = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < 64; i++) rgb.set(i % 8 < 4 ? [200, 40, 40] : [40, 40, 200], i * 3);
  const yuv = copyFrameRegion({ data: rgbToI420(rgb, 8, 8), width: 8, height: 8, format: 'i420' }, { left: 4, top: 2, width: 4, height: 4 });
  t.same([yuv.width, yuv.height, yuv.data.length], [4, 4, 48]);
  t.ok(yuv.data[2 * 3 + 2] > 150 && yuv.data[2 * 3] < 90, `blue half back as RGB (${[...yuv.data.subarray(6, 9)]})`);
  const img = { data: Buffer.from([0, 0, 0, 100, 100, 100, 50, 50, 50, 7, 7, 7]), width: 2, height: 2 };
  pixelate(img, { left: 0, top: 0, width: 2, height: 1 }, 2);
  t.same([...img.data], [50, 50, 50, 50, 50, 50, 50, 50, 50, 7, 7, 7], 'one block averaged, the rest untouched');
  const jpeg = await encodeJpeg({ data: Buffer.alloc(16 * 16 * 3, 128), width: 16, height: 16 });
  t.same([jpeg[0], jpeg[1]], [0xff, 0xd8]);
});

t.test('tracking hints: checked, and the worker classifies only what needs it', async (t) => {
  const ok = { tracks: [{ id: 1, box: [0, 0, 10, 10] as [number, number, number, number], read: false, growArea: 150 }], high: 0.7, low: 0.5, iou: 0.3, lowIou: 0.5 };
  t.equal(trackingProblem(undefined), null);
  t.equal(trackingProblem(ok), null);
  t.match(trackingProblem({ ...ok, high: 2 }), /in \(0, 1\)/);
  t.match(trackingProblem({ ...ok, tracks: [{ id: 1.5 } as never] }), /integer id/);
  const tracks = [
    { id: 1, box: [0, 0, 100, 100] as [number, number, number, number], read: false, growArea: 15000 },
    { id: 2, box: [300, 0, 100, 100] as [number, number, number, number], read: true, growArea: 15000 },
    { id: 3, box: [600, 0, 100, 100] as [number, number, number, number], read: false, growArea: 12000 },
  ];
  const sel = selectForReading(tracks, [
    { box: [2, 0, 100, 100], detScore: 0.9 }, // track 1, no reading due
    { box: [302, 0, 100, 100], detScore: 0.9 }, // track 2, reading due
    { box: [600, 0, 112, 112], detScore: 0.9 }, // track 3, grew past growArea
    { box: [900, 0, 100, 100], detScore: 0.9 }, // new
    { box: [900, 400, 100, 100], detScore: 0.55 }, // weak, continues nothing: dropped
  ], { high: 0.7, iou: 0.3, lowIou: 0.5 });
  t.same(sel, { keep: [0, 1, 2, 3], match: [1, 2, 3, null], classify: [false, true, true, true] });
});

t.test('the stage: events in camera pixels, counted at leave', async (t) => {
  const events: PersonEvent[] = [];
  const stage = new PeopleStage({ high: 0.7, low: 0.5, privacy: 'off', tracker: { minHits: 2, maxLostFrames: 2 }, onEvents: (e) => events.push(...e) });
  stage.add('door');
  const half = (b: [number, number, number, number]) => b.map((v) => v * 2) as [number, number, number, number];
  const frame = (seq: number) => ({ format: 'rgb24' as const, camera: 'door', seq, ts: 1000 + seq * 100, width: 640, height: 360, data: Buffer.alloc(640 * 360 * 3), hold() {}, release() {} });
  for (let seq = 0; seq < 8; seq++) {
    const faces = seq < 4 ? [{ box: [100, 100, 50, 50] as [number, number, number, number], crop: [90, 90, 70, 70] as [number, number, number, number], detScore: 0.9, label: 'no_mask', score: 0.9, scores: { mask: 0.1, no_mask: 0.9 } }] : [];
    const out = stage.detected(frame(seq), faces, half);
    if (seq < 4) t.same(out.map((f) => [f.track, f.label, f.classified]), [[1, 'no_mask', true]]);
  }
  t.same(events.map((e) => e.type), ['enter', 'verdict', 'leave']);
  t.same(events[0].box, [200, 200, 100, 100], 'camera pixels');
  t.same(stage.counts.report(2000).door, { total: { mask: 0, no_mask: 1 }, hour: { mask: 0, no_mask: 1 } });
});

t.test("the stage: a new face at the detector's own threshold starts a track (not the tracker's default 0.7)", async (t) => {
  const stage = new PeopleStage({ high: 0.4, low: 0.28, privacy: 'off', onEvents: () => undefined });
  stage.add('door');
  const f = { format: 'rgb24' as const, camera: 'door', seq: 0, ts: 0, width: 64, height: 64, data: Buffer.alloc(64 * 64 * 3), hold() {}, release() {} };
  const out = stage.detected(f, [{ box: [10, 10, 20, 20], crop: [5, 5, 30, 30], detScore: 0.5, label: 'mask', score: 0.9, scores: { mask: 0.9, no_mask: 0.1 }, match: null, classified: true }], (b) => b);
  t.equal(out.length, 1, 'published with a track');
  t.equal(stage.request('door', 1)?.tracks.length, 1, 'and tracked');
});

t.test('a kept best face: the I420 bytes around it, the same pixels as the whole frame gives (D167)', async (t) => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
  for (const [w, h] of [[64, 48], [37, 29]]) {
    const data = Buffer.from(Array.from({ length: w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2) }, rand));
    const frame = { data, width: w, height: h, format: 'i420' as const };
    for (const r of [
      { left: 0, top: 0, width: w, height: h },
      { left: 0, top: 0, width: 5, height: 3 },
      { left: 11, top: 7, width: 13, height: 9 },
      { left: 10, top: 6, width: 14, height: 10 },
      { left: w - 9, top: h - 5, width: 9, height: 5 },
      { left: 3, top: 1, width: 1, height: 1 },
    ]) {
      const whole = resampleRegionI420(data, w, h, r, { width: r.width, height: r.height, fit: 'stretch', padColor: [0, 0, 0] });
      const kept = keepFrameRegion(frame, r);
      t.same([...regionPixels(kept).data], [...whole], `${w}x${h} region ${r.left},${r.top} ${r.width}x${r.height}`);
      if (r.width < w / 2) t.ok(kept.data.length < data.length / 2, `only the bytes around it (${kept.data.length} of ${data.length})`);
    }
  }
  // a frame in a slot (the daemon's): only the rows around the region are read from the slot's file
  const file = join(t.testdir({}), 'slot');
  const pixels = Buffer.from(Array.from({ length: 64 * 48 * 1.5 }, rand));
  writeFileSync(file, Buffer.concat([pixels, Buffer.alloc(100)])); // a slot is at least its frame
  const inSlot = { width: 64, height: 48, format: 'i420' as const, slot: { path: file, bytes: pixels.length }, get data(): Buffer { throw new Error('the whole frame was read'); } };
  for (const r of [{ left: 11, top: 7, width: 13, height: 9 }, { left: 0, top: 40, width: 64, height: 8 }])
    t.same([...regionPixels(keepFrameRegion(inSlot, r)).data], [...copyFrameRegion({ data: pixels, width: 64, height: 48, format: 'i420' }, r).data], `from the slot, rows around ${r.left},${r.top} ${r.width}x${r.height}`);
  t.throws(() => keepFrameRegion({ width: 64, height: 48, format: 'i420', data: Buffer.alloc(0), slot: { path: file + '-gone', bytes: pixels.length } }, { left: 0, top: 0, width: 8, height: 8 }), /frame slot .*-gone: ENOENT/);
  t.throws(() => readSlotParts({ path: file, bytes: 10 }, [[8, 4]]), /bytes 8\.\.12 are outside its 10-byte frame/);
  const data = Buffer.alloc(64 * 48 * 1.5, 200);
  const before = copyFrameRegion({ data, width: 64, height: 48, format: 'i420' }, { left: 8, top: 8, width: 16, height: 16 });
  const kept = keepFrameRegion({ data, width: 64, height: 48, format: 'i420' }, { left: 8, top: 8, width: 16, height: 16 });
  data.fill(0);
  t.same([...regionPixels(kept).data], [...before.data], 'a copy: the frame buffer may be reused');
  for (const k of [kept, keepFrameRegion({ data: Buffer.alloc(8 * 8 * 3, 9), width: 8, height: 8 }, { left: 0, top: 0, width: 4, height: 4 })]) {
    const first = regionPixels(k).data;
    const was = Buffer.from(first);
    first.fill(7); // a snapshot pixelates its pixels in place
    t.same([...regionPixels(k).data], [...was], `${k.format}: each snapshot's pixels are a new copy, the kept bytes stay`);
  }
  t.same(copyFrameRegion({ data, width: 64, height: 48, format: 'i420' }, { left: 60, top: 40, width: 20, height: 20 }).width, 4, 'clipped to the frame');
});

t.test('the stage: a snapshot is made from the kept bytes, after the frame is answered', async (t) => {
  const snaps: Buffer[] = [];
  let made!: () => void;
  const firstSnapshot = new Promise<void>((resolve) => (made = resolve));
  const stage = new PeopleStage({ high: 0.7, low: 0.5, privacy: 'blur', tracker: { minHits: 2, maxLostFrames: 2 }, onEvents: () => undefined, onSnapshot: (_c, jpeg) => (snaps.push(jpeg), made()) });
  stage.add('door');
  const rgb = Buffer.alloc(160 * 96 * 3);
  for (let i = 0; i < 160 * 96; i++) rgb.set([40, 60, 200], i * 3);
  for (let seq = 0; seq < 8; seq++) {
    const data = rgbToI420(rgb, 160, 96);
    const f = { format: 'i420' as const, camera: 'door', seq, ts: 1000 + seq * 100, width: 160, height: 96, data, hold() {}, release() {} };
    const faces = seq < 4 ? [{ box: [60, 30, 30, 30] as [number, number, number, number], crop: [55, 25, 40, 40] as [number, number, number, number], detScore: 0.9, label: 'no_mask', score: 0.9, scores: { mask: 0.1, no_mask: 0.9 } }] : [];
    stage.detected(f, faces, (b) => b);
    t.equal(snaps.length, 0, `no JPEG made while frame ${seq} is answered`);
    data.fill(0); // the frame's buffer goes back to its pool
  }
  await firstSnapshot; // made on a later turn of the event loop (sharp encodes off the main thread)
  t.ok(snaps.length >= 1, `a snapshot of the unmasked person (${snaps.length})`);
  const { data, info } = await sharp(snaps[0]).raw().toBuffer({ resolveWithObject: true });
  t.same([info.width, info.height], [60, 60], 'the face with its context');
  const [r, g, b] = [0, 1, 2].map((c) => Math.round(data.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / (data.length / 3)));
  t.ok(b > 150 && r < 90, `the frame's pixels, not the reused buffer's (mean ${r},${g},${b})`);
});
