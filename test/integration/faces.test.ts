// Faces mode end to end on real parts: GStreamer RTSP server looping a clip of real scene photos
// (test/fixtures/scenes: 4 scenes x 3 s, hand-checked faces in scenes.json) → the built daemon
// (ffmpeg at 1280x720, onnxruntime worker: UltraFace + MobileNet) → mosquitto. Published faces must
// match the ground truth boxes (IoU ≥ 0.5), labels ≥ 90 % right, and the retained state topic must
// change exactly at the scene changes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startRtspServer } from '../helpers/rtsp.js';
import { startCollector, waitFor } from '../helpers/mqtt-collect.js';
import { alignLabels } from '../helpers/align.js';
import { iou } from '../../models/detect.js';
import { corners, scenesClip, scenesTruth, type Box } from '../helpers/scenes.js';

const root = join(import.meta.dirname, '..', '..');
const gt = scenesTruth;
const truth = Array.from({ length: gt.frames }, (_, i) => gt.scenes[Math.floor(i / gt.framesPerScene)].label);
const HYSTERESIS = 3;

t.test('faces mode: boxes, labels and state changes match the scenes', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const cam = await startRtspServer({ mounts: { '/door': scenesClip } });
  t.teardown(() => cam.stop());
  const dir = t.testdir({});
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      site: 'hq',
      deviceId: 'edge-7',
      mqtt: { url: broker.url, qos: 0 },
      cameras: [{ id: 'door', url: cam.url('/door'), fps: 10, mode: 'faces', frameWidth: gt.width, frameHeight: gt.height }],
      faces: { stateHysteresis: HYSTERESIS, publish: 'every' },
      // the detector on every frame, whatever the load: under load the default cadence rises (D96) and
      // the frames between detections carry the tracks' predicted boxes, which cannot follow the clip's
      // hard cuts, so the per-frame checks below would depend on how busy the machine is
      people: { detectEveryMax: 1 },
      homeassistant: { enabled: true },
      log: { level: 'info' },
    }),
  );
  const results = startCollector(broker.url, 'hq/door/mask', { timeoutMs: 120000, qos: 0 });
  const states = startCollector(broker.url, 'hq/door/mask/state', { timeoutMs: 120000, qos: 1 });
  await Promise.all([results.ready, states.ready]);
  const proc = spawn(process.execPath, [join(root, 'dist/daemon/main.js'), '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out = (out + d).slice(-100000)));
  proc.stderr.on('data', (d) => (out = (out + d).slice(-100000)));
  t.teardown(() => void (proc.exitCode === null && proc.kill('SIGKILL')));

  // Home Assistant discovery: retained, availability = the daemon's status topic
  await waitFor(broker.url, 'homeassistant/sensor/hq_edge-7_door_mask/config', () => true, 30000);
  // a fresh subscriber gets the retained copy (live deliveries never carry the retain flag)
  const disc = await waitFor(broker.url, 'homeassistant/sensor/hq_edge-7_door_mask/config', () => true, 5000);
  const dc = JSON.parse(disc.payload);
  t.ok(disc.retain, 'discovery config is retained');
  t.equal(dc.state_topic, 'hq/door/mask/state');
  t.equal(dc.availability[0].topic, 'hq/edge-7/status');

  const started = Date.now();
  const frameOf = (i: number) => JSON.parse(results.messages[i].payload).frame as number;
  while (results.messages.length < 10 && Date.now() - started < 40000) await new Promise((r) => setTimeout(r, 200));
  t.ok(results.messages.length >= 10, `results flow; daemon output:\n${out.slice(-3000)}`);
  const skip = results.messages.length;
  const first = frameOf(skip - 1) + 1;
  // one full loop of the clip (120 frames of camera time), plus a margin
  while ((results.messages.length === skip || frameOf(results.messages.length - 1) < first + gt.frames + 10) && Date.now() - started < 80000) await new Promise((r) => setTimeout(r, 250));
  const msgs = results.messages.slice(skip).map((m) => JSON.parse(m.payload));
  t.notOk(msgs.some((m) => m.predicted), 'every frame published was detected (no predicted frames)');
  const span = msgs.at(-1).frame - msgs[0].frame;
  t.ok(span >= gt.frames, `results cover a full loop (${msgs.length} results over ${span} frames)`);
  t.ok(msgs.length >= gt.frames * 0.6, `most frames were processed (${msgs.length} of ${span + 1}), not dropped`);

  const m0 = msgs[0];
  for (const k of ['camera', 'frame', 'ts', 'label', 'score', 'scores', 'model', 'latencyMs', 'inferMs', 'faces', 'counts', 'frameSize', 'detector', 'detectMs', 'classifyMs']) t.ok(k in m0, `result has ${k}`);
  t.same(m0.frameSize, [gt.width, gt.height]);
  t.equal(m0.detector.name, 'ultraface-masked-rfb-640');

  // align to the clip by frame label, then check faces per scene
  const a = alignLabels(msgs.map((m) => ({ frame: m.frame, label: m.label })), truth);
  t.comment(`frame labels ${(a.accuracy * 100).toFixed(1)}% (offset ${a.offset}, wrong ${JSON.stringify(a.wrong.slice(0, 10))})`);
  t.ok(a.accuracy >= 0.9, `≥ 90% of frame labels right (${(a.accuracy * 100).toFixed(1)}%)`);
  let gtFaces = 0, found = 0, published = 0, matched = 0, labelsRight = 0;
  for (const m of msgs) {
    const scene = gt.scenes[Math.floor(((m.frame + a.offset) % gt.frames) / gt.framesPerScene)];
    const used = new Set<number>();
    published += m.faces.length;
    gtFaces += scene.faces.length;
    for (const f of m.faces as { box: Box; label: string }[]) {
      let best = -1, bestIou = 0.5;
      scene.faces.forEach((g, i) => {
        const v = iou(corners(f.box), corners(g.box));
        if (!used.has(i) && v >= bestIou) (best = i), (bestIou = v);
      });
      if (best < 0) continue;
      used.add(best);
      matched++;
      if (scene.faces[best].label === f.label) labelsRight++;
    }
    found += used.size;
  }
  t.comment(`faces: ${found}/${gtFaces} ground-truth faces found, ${matched}/${published} published faces match one (IoU ≥ 0.5), labels ${labelsRight}/${matched}`);
  t.ok(found / gtFaces >= 0.9, `≥ 90% of ground-truth faces found (${found}/${gtFaces})`);
  t.ok(matched / published >= 0.9, `≥ 90% of published faces are ground-truth faces (${matched}/${published})`);
  t.ok(labelsRight / matched >= 0.9, `≥ 90% of face labels right (${labelsRight}/${matched})`);

  // state: retained, changes once per scene change, starting at the scene's first frame
  const st = states.messages.map((m) => ({ ...JSON.parse(m.payload), retain: m.retain }));
  const inWindow = st.filter((s) => s.sinceFrame > msgs[0].frame && s.sinceFrame + HYSTERESIS - 1 <= msgs.at(-1).frame);
  const boundaries: number[] = [];
  // a change needs HYSTERESIS frames of the new scene inside the window
  for (let f = msgs[0].frame + 1; f + HYSTERESIS - 1 <= msgs.at(-1).frame; f++) if (((f + a.offset) % gt.frames) % gt.framesPerScene === 0) boundaries.push(f);
  t.comment(`state changes ${JSON.stringify(inWindow.map((s) => [s.sinceFrame, s.state]))}; scene starts ${JSON.stringify(boundaries)}`);
  t.equal(inWindow.length, boundaries.length, 'one state change per scene change, no flicker');
  for (const s of inWindow) {
    const b = boundaries.find((f) => s.sinceFrame >= f && s.sinceFrame <= f + 2);
    t.ok(b !== undefined, `state ${s.state} since frame ${s.sinceFrame} starts at a scene change (≤ 2 frames late when the boundary frame was dropped)`);
    if (b !== undefined) t.equal(s.state, truth[(b + a.offset) % gt.frames], 'the new scene\'s label');
    t.equal(s.frames, HYSTERESIS);
    t.ok(typeof s.since === 'string' && s.counts && typeof s.counts.faces === 'number');
  }
  const retained = await waitFor(broker.url, 'hq/door/mask/state', () => true, 5000);
  t.ok(retained.retain, 'state is retained');

  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
});
