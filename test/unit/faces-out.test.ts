// Faces-mode MQTT output (pipelines/faces-out.ts) and Home Assistant discovery (daemon/mqtt/homeassistant.ts).
import t from 'tap';
import { FacesOut } from '../../pipelines/faces-out.js';
import { discoveryMessages } from '../../daemon/mqtt/homeassistant.js';
import type { FacesFrameResult } from '../../pipelines/pipeline.js';

const result = (frame: number, label: 'mask' | 'no_mask' | 'no_face', faces = label === 'no_face' ? 0 : 1): FacesFrameResult => ({
  camera: 'door', frame, ts: new Date(1e12 + frame * 100).toISOString(), label, score: null, scores: {}, faces: [],
  counts: { faces, mask: label === 'mask' ? faces : 0, no_mask: label === 'no_mask' ? faces : 0 },
  frameSize: [1280, 720], model: { name: 'm', version: '1' }, detector: { name: 'd', version: '1' }, latencyMs: 1, inferMs: 1, detectMs: 1, classifyMs: 1,
});

t.test('state on its own retained topic after N frames; per-frame results through the gate', async (t) => {
  const frames: string[] = [], retained: [string, any][] = [];
  const out = new FacesOut({
    maskTopic: (c) => `s/${c}/mask`, stateTopic: (c) => `s/${c}/mask/state`, policy: { mode: 'change' }, hysteresis: 2,
    publishFrame: (topic) => frames.push(topic), publishRetained: (topic, p) => retained.push([topic, JSON.parse(p)]),
  });
  const labels = ['mask', 'mask', 'mask', 'no_mask', 'mask', 'no_mask', 'no_mask', 'no_face', 'no_face'] as const;
  labels.forEach((l, i) => out.handle(result(i, l), i * 100));
  t.same(retained.map(([topic, p]) => [topic, p.state, p.sinceFrame, p.previous]), [
    ['s/door/mask/state', 'mask', 0, null],
    ['s/door/mask/state', 'no_mask', 5, 'mask'],
    ['s/door/mask/state', 'no_face', 7, 'no_mask'],
  ]);
  t.equal(frames.length, 5, 'change policy: only frames whose label / face count changed');
  t.same(out.stats.get('door'), { published: 5, held: 4, stateChanges: 3 });
});

t.test('Home Assistant discovery: retained configs read the state topic, availability = status topic', async (t) => {
  const msgs = discoveryMessages({ prefix: 'homeassistant', site: 'hq', deviceId: 'edge-7', statusTopic: 'hq/edge-7/status', stateTopic: (c) => `hq/${c}/mask/state`, cameras: ['door', 'gate'], version: '0.1.0' });
  t.equal(msgs.length, 6);
  t.same(msgs.map((m) => m.topic).slice(0, 3), ['homeassistant/sensor/hq_edge-7_door_mask/config', 'homeassistant/binary_sensor/hq_edge-7_door_no_mask/config', 'homeassistant/sensor/hq_edge-7_door_faces/config']);
  const p = JSON.parse(msgs[1].payload);
  t.equal(p.state_topic, 'hq/door/mask/state');
  t.equal(p.availability[0].topic, 'hq/edge-7/status');
  t.equal(p.device_class, 'problem');
  t.ok(new Set(msgs.map((m) => JSON.parse(m.payload).unique_id)).size === 6, 'unique ids');
});
