// Motion gating end to end on real parts: a 10 s entrance-like clip (test/helpers/entrance-clip.ts:
// an empty noisy scene, 4 unmasked people panning through frames 40-59) served by the GStreamer RTSP
// server on two mounts → the built daemon with two faces cameras, "gated" (motion.enabled) and
// "plain" (off) → mosquitto. Every frame gets a result on both; on "gated" the empty part is mostly
// reused and the frames with people are detected and have faces; "plain" never reuses.
import t from 'tap';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startRtspServer } from '../helpers/rtsp.js';
import { startCollector } from '../helpers/mqtt-collect.js';
import { alignLabels } from '../helpers/align.js';
import { startDaemon, writeConfig } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';
import { entranceClip } from '../helpers/entrance-clip.js';

interface Result {
  camera: string;
  frame: number;
  label: string;
  counts: { faces: number };
  faces: unknown[];
  reused?: boolean;
  reusedFrom?: number;
  inferMs: number;
  detectMs: number;
}

const LOOPS = 2;

t.test('motion gating: empty scene reused, people detected, every frame published', async (t) => {
  const clip = await entranceClip({ seconds: 10, visits: 1 });
  t.equal(clip.frames, 100);
  const truth = Array.from({ length: clip.frames }, (_, i) => (clip.present(i) ? 'no_mask' : 'no_face'));
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const rtsp = await startRtspServer({ mounts: { '/gated': clip.path, '/plain': clip.path } });
  t.teardown(() => rtsp.stop());
  const httpPort = await freePort();
  const cfg = writeConfig(t, {
    site: 'hq',
    deviceId: 'edge-9',
    mqtt: { url: broker.url, qos: 0 },
    cameras: [
      { id: 'gated', url: rtsp.url('/gated'), fps: 10, mode: 'faces', motion: { enabled: true } },
      { id: 'plain', url: rtsp.url('/plain'), fps: 10, mode: 'faces' },
    ],
    faces: { stateHysteresis: 3, publish: 'every' },
    http: { port: httpPort },
    log: { level: 'warn' },
  });
  const results = startCollector(broker.url, 'hq/+/mask', { timeoutMs: 120000, qos: 0 });
  const states = startCollector(broker.url, 'hq/gated/mask/state', { timeoutMs: 120000, qos: 1 });
  await Promise.all([results.ready, states.ready]);
  const d = startDaemon(t, cfg);

  const started = Date.now();
  const of = (cam: string) => results.messages.filter((m) => m.topic === `hq/${cam}/mask`).map((m) => JSON.parse(m.payload) as Result);
  const flowing = () => of('gated').length >= 5 && of('plain').length >= 5;
  while (!flowing() && Date.now() - started < 40000) await new Promise((r) => setTimeout(r, 200));
  t.ok(flowing(), `both cameras publish; daemon output:\n${d.output().slice(-3000)}`);
  // from here: LOOPS full loops of the clip on both cameras
  const first = { gated: of('gated').at(-1)!.frame + 1, plain: of('plain').at(-1)!.frame + 1 };
  const covered = () => (['gated', 'plain'] as const).every((c) => (of(c).at(-1)?.frame ?? 0) >= first[c] + LOOPS * clip.frames + 5);
  while (!covered() && Date.now() - started < 75000) await new Promise((r) => setTimeout(r, 250));
  const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text());
  d.proc.kill('SIGTERM');
  await d.exited();

  const window = (cam: 'gated' | 'plain') => of(cam).filter((m) => m.frame >= first[cam] && m.frame < first[cam] + LOOPS * clip.frames);
  const gated = window('gated'), plain = window('plain');
  t.comment(`gated: ${gated.length} results, plain: ${plain.length} results, over ${LOOPS * clip.frames} frames each`);
  t.ok(gated.length >= LOOPS * clip.frames * 0.9, `gated: a result for (almost) every frame (${gated.length} of ${LOOPS * clip.frames})`);
  t.ok(plain.length >= LOOPS * clip.frames * 0.6, `plain: most frames have a result (${plain.length} of ${LOOPS * clip.frames})`);
  t.equal(plain.filter((m) => 'reused' in m).length, 0, 'motion off: no result is reused');

  // where in the clip each frame is: align the frame labels with the clip (people = 4 unmasked faces)
  const a = alignLabels(gated, truth);
  const ap = alignLabels(plain, truth);
  t.comment(`labels vs clip: gated ${(a.accuracy * 100).toFixed(1)}% (offset ${a.offset}), plain ${(ap.accuracy * 100).toFixed(1)}% (offset ${ap.offset})`);
  t.ok(a.accuracy >= 0.9, 'gated labels follow the clip (reused ones included)');
  t.ok(ap.accuracy >= 0.9, 'plain labels follow the clip');
  const at = (m: Result) => (m.frame + a.offset) % clip.frames;
  const people = gated.filter((m) => clip.present(at(m)));
  // empty frames, leaving out the first two after the people left (the change itself)
  const empty = gated.filter((m) => !clip.present(at(m)) && !clip.present(at(m) - 1) && !clip.present(at(m) - 2));
  const reusedEmpty = empty.filter((m) => m.reused === true).length;
  const detectedPeople = people.filter((m) => !m.reused);
  const withFaces = detectedPeople.filter((m) => m.counts.faces >= 1).length;
  t.comment(`gated: empty frames ${empty.length}, reused ${reusedEmpty} (${((reusedEmpty / empty.length) * 100).toFixed(1)} %); frames with people ${people.length}, detected ${detectedPeople.length}, with faces ${withFaces}`);
  t.ok(empty.length >= LOOPS * 70, 'the window holds the empty part of each loop');
  t.ok(reusedEmpty / empty.length >= 0.8, `≥ 80 % of the empty scene is reused (${reusedEmpty}/${empty.length}; at most 1 in 20 refreshes at maxReuseSec 2)`);
  t.ok(people.length >= LOOPS * 15, 'the window holds the people');
  t.ok(detectedPeople.length / people.length >= 0.95, `frames with people are detected, not reused (${detectedPeople.length}/${people.length})`);
  t.ok(withFaces / detectedPeople.length >= 0.9, `and have faces (${withFaces}/${detectedPeople.length})`);

  // reused results point back at a detected result of the same camera, ≤ maxReuseSec (+ one frame) old
  const byFrame = new Map(of('gated').map((m) => [m.frame, m]));
  const reused = gated.filter((m) => m.reused);
  let good = 0;
  for (const m of reused) {
    const src = byFrame.get(m.reusedFrom!);
    if (src && !src.reused && src.label === m.label && src.counts.faces === m.counts.faces && m.frame - m.reusedFrom! <= 21 && m.inferMs === 0 && m.detectMs === 0) good++;
  }
  t.equal(good, reused.length, `every reused result copies a detected one ≤ 2.1 s older, with 0 ms inference (${good}/${reused.length})`);

  // the state topic sees reused labels like any other: it goes to no_mask and back each loop
  const st = states.messages.map((m) => JSON.parse(m.payload) as { state: string; sinceFrame: number }).filter((s) => s.sinceFrame >= first.gated);
  t.ok(st.filter((s) => s.state === 'no_mask').length >= LOOPS - 1 && st.filter((s) => s.state === 'no_face').length >= LOOPS - 1, `state changes with the people (${JSON.stringify(st.map((s) => [s.sinceFrame, s.state]))})`);

  // counted in /metrics
  const count = (cam: string) => Number(new RegExp(`mobilenet_edge_frames_reused_total\\{camera="${cam}"\\} (\\d+)`).exec(metrics)?.[1] ?? NaN);
  t.ok(count('gated') >= reusedEmpty, `mobilenet_edge_frames_reused_total{camera="gated"} = ${count('gated')}`);
  t.equal(count('plain'), 0, 'plain: 0 reused');
});
