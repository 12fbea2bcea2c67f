// Config sections: execution providers, camera decoders, faces mode, motion gating, the detector,
// groups (split from config.test.ts).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../daemon/config/config.js';
import { checkConfig } from '../../daemon/config/cli.js';
import { packageRoot, problemsOf, paths, find } from '../helpers/config-fixtures.js';

t.test('execution providers: names or objects with validated per-provider options', async (t) => {
  const root = packageRoot(t);
  const write = (engine: unknown) => {
    const f = path.join(root, `e${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify({ cameras: [{ id: 'c', url: 'rtsp://cam/s' }], engine }));
    return f;
  };
  const good = [{ name: 'tensorrt', fp16: true, engineCacheDir: '/var/lib/mobilenet-edge/trt', timingCache: true, workspaceMb: 512 }, { name: 'cuda', deviceId: 0 }, 'cpu'];
  const c = loadConfig({ file: write({ executionProviders: good }), packageRoot: root, env: {} });
  t.same(c.engine.executionProviders, good);

  const ps = problemsOf(t, () =>
    loadConfig({
      file: write({
        executionProviders: [
          { name: 'tensorrt', fp16: 'yes', engineCacheDir: 'relative/dir', trt_fp16_enable: '1', timingCache: true },
          { name: 'cuda', fp16: true },
          { name: 'cpu', threads: 2 },
          { fp16: true },
          'cuda',
          42,
        ],
      }),
      packageRoot: root,
      env: {},
    }),
  );
  t.same(paths(ps), [
    'engine.executionProviders[0].engineCacheDir',
    'engine.executionProviders[0].fp16',
    'engine.executionProviders[0].trt_fp16_enable',
    'engine.executionProviders[1].fp16',
    'engine.executionProviders[2].threads',
    'engine.executionProviders[3].name',
    'engine.executionProviders[4]',
    'engine.executionProviders[5]',
  ]);
  t.match(find(ps, 'engine.executionProviders[0].fp16'), /true or false/);
  t.match(find(ps, 'engine.executionProviders[0].engineCacheDir'), /absolute/);
  t.match(find(ps, 'engine.executionProviders[0].trt_fp16_enable'), /unknown option for tensorrt \(known: deviceId, fp16, engineCacheDir/);
  t.match(find(ps, 'engine.executionProviders[1].fp16'), /unknown option for cuda \(known: deviceId\)/);
  t.match(find(ps, 'engine.executionProviders[2].threads'), /takes no options/);
  t.match(find(ps, 'engine.executionProviders[4]'), /twice/);
  t.match(find(ps, 'engine.executionProviders[5]'), /expected a provider name or an object/);
});

t.test('cameras choose their decoder: ffmpeg (default), gstreamer-nv, gstreamer-sw', async (t) => {
  const root = packageRoot(t);
  const f = path.join(root, 'dec.json');
  fs.writeFileSync(f, JSON.stringify({ cameras: [{ id: 'a', url: 'rtsp://cam/a', decoder: 'gstreamer-nv' }, { id: 'b', url: 'rtsp://cam/b', decoder: 'ffmpeg' }, { id: 'c', url: 'rtsp://cam/c' }] }));
  const c = loadConfig({ file: f, packageRoot: root, env: {} });
  t.same(c.cameras.map((x) => x.decoder), ['gstreamer-nv', undefined, undefined]);
  fs.writeFileSync(f, JSON.stringify({ cameras: [{ id: 'a', url: 'rtsp://cam/a', decoder: 'nvdec' }, { id: 'b', url: 'rtsp://cam/b', decoder: 'gstreamer-sw', loop: true }] }));
  const ps = problemsOf(t, () => loadConfig({ file: f, packageRoot: root, env: {} }));
  t.same(paths(ps), ['cameras[0].decoder', 'cameras[1].loop']);
  t.match(find(ps, 'cameras[0].decoder'), /must be one of ffmpeg, gstreamer-nv, gstreamer-sw/);
});

t.test('faces mode: default for cameras in a file, detector resolved, settings validated', async (t) => {
  const root = packageRoot(t, {
    'f.json': JSON.stringify({
      cameras: [{ id: 'a', url: 'rtsp://cam/a' }, { id: 'b', url: 'rtsp://cam/b', mode: 'classify' }, { id: 'c', url: 'rtsp://cam/c', frameWidth: 640, frameHeight: 360 }],
      faces: { stateHysteresis: 3, publish: 'rate', publishMaxHz: 1 },
      homeassistant: { enabled: true },
    }),
    'bad.json': JSON.stringify({
      cameras: [{ id: 'a', url: 'rtsp://cam/a', mode: 'face', frameWidth: 641 }],
      faces: { margin: -1, publish: 'sometimes', stateHysteresis: 0, frameLabelMinFace: -1, detector: 'models/mask-mobilenet/model.json' },
    }),
  });
  const c = loadConfig({ file: path.join(root, 'f.json'), packageRoot: root, env: {} });
  t.same(c.cameras.map((x) => [x.mode, x.frameWidth, x.frameHeight]), [['faces', 1280, 720], ['classify', undefined, undefined], ['faces', 640, 360]]);
  t.equal(c.faces.detector, path.join(root, 'models/ultraface-masked-rfb-640/model.json'));
  t.same([c.faces.stateHysteresis, c.faces.publish, c.faces.publishMaxHz, c.faces.margin], [3, 'rate', 1, 0.2]);
  t.equal(c.faces.frameLabelMinFace, 32, 'small faces leave the frame label to taller ones by default (D121)');
  t.same(c.homeassistant, { enabled: true, prefix: 'homeassistant' });
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'bad.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), ['cameras[0].frameWidth', 'cameras[0].mode', 'faces.frameLabelMinFace', 'faces.margin', 'faces.publish', 'faces.stateHysteresis']);
});

t.test('motion gating: per faces camera, off unless enabled, defaults filled in, every bad key named', async (t) => {
  const root = packageRoot(t, {
    'm.json': JSON.stringify({
      cameras: [
        { id: 'a', url: 'rtsp://cam/a' },
        { id: 'b', url: 'rtsp://cam/b', motion: { enabled: true } },
        { id: 'c', url: 'rtsp://cam/c', motion: { enabled: true, pixelThreshold: 30, areaThreshold: 0.01, maxReuseSec: 5 } },
        { id: 'd', url: 'rtsp://cam/d', motion: {} },
        { id: 'e', url: 'rtsp://cam/e', mode: 'classify', motion: { enabled: false } },
      ],
    }),
    'bad.json': JSON.stringify({
      cameras: [
        { id: 'a', url: 'rtsp://cam/a', motion: { enabled: 'yes', pixelThreshold: 0, areaThreshold: 1, maxReuseSec: 0, sensitivity: 3 } },
        { id: 'b', url: 'rtsp://cam/b', motion: true },
        { id: 'c', url: 'rtsp://cam/c', mode: 'classify', motion: { enabled: true } },
        { id: 'd', url: 'rtsp://cam/d', motion: { pixelThreshold: 20.5, areaThreshold: -0.1, maxReuseSec: 7200 } },
      ],
    }),
  });
  const c = loadConfig({ file: path.join(root, 'm.json'), packageRoot: root, env: {} });
  t.same(c.cameras.map((x) => x.motion), [
    undefined,
    { enabled: true, pixelThreshold: 30, areaThreshold: 0.005, maxReuseSec: 2 },
    { enabled: true, pixelThreshold: 30, areaThreshold: 0.01, maxReuseSec: 5 },
    { enabled: false, pixelThreshold: 30, areaThreshold: 0.005, maxReuseSec: 2 },
    undefined,
  ], 'absent = off; a classify camera\'s disabled block is dropped');
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'bad.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), [
    'cameras[0].motion.areaThreshold', 'cameras[0].motion.enabled', 'cameras[0].motion.maxReuseSec', 'cameras[0].motion.pixelThreshold', 'cameras[0].motion.sensitivity',
    'cameras[1].motion',
    'cameras[2].motion.enabled',
    'cameras[3].motion.areaThreshold', 'cameras[3].motion.maxReuseSec', 'cameras[3].motion.pixelThreshold',
  ]);
  t.match(find(ps, 'cameras[0].motion.sensitivity'), /unknown key/);
  t.match(find(ps, 'cameras[0].motion.enabled'), /must be true or false \(got "yes"\)/);
  t.match(find(ps, 'cameras[0].motion.pixelThreshold'), /integer 1\.\.254.*got 0/);
  t.match(find(ps, 'cameras[0].motion.areaThreshold'), /0\.\.<1.*got 1\)/);
  t.match(find(ps, 'cameras[0].motion.maxReuseSec'), /0\.1\.\.3600.*got 0\)/);
  t.match(find(ps, 'cameras[1].motion'), /expected an object .* \(got true\)/);
  t.match(find(ps, 'cameras[2].motion.enabled'), /applies to "mode": "faces"/);
  t.match(find(ps, 'cameras[3].motion.maxReuseSec'), /got 7200/);
  const lines: string[] = [];
  t.equal(checkConfig(path.join(root, 'bad.json'), root, (l) => lines.push(l), {}), 78, '--check-config exits 78');
  t.match(lines.join('\n'), /cameras\[2\]\.motion\.enabled/);
});

t.test('faces.detector must be a detector', async (t) => {
  const root = packageRoot(t, { 'd.json': JSON.stringify({ cameras: [{ id: 'a', url: 'rtsp://cam/a' }], faces: { detector: 'models/mask-mobilenet/model.json' } }) });
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'd.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), ['faces.detector']);
  t.match(find(ps, 'faces.detector'), /is a "classify" model; expected task "detect"/);
});

t.test('groups: default [], names checked, repeats refused', async (t) => {
  const root = packageRoot(t, {
    'ok.json': JSON.stringify({ groups: ['lobby', 'floor_2'], cameras: [{ id: 'c', url: 'rtsp://cam/s' }] }),
    'bad.json': JSON.stringify({ groups: ['lobby', 'no spaces'], cameras: [{ id: 'c', url: 'rtsp://cam/s' }] }),
    'twice.json': JSON.stringify({ groups: ['a', 'a'], cameras: [{ id: 'c', url: 'rtsp://cam/s' }] }),
  });
  t.same(loadConfig({ packageRoot: root, env: {} }).groups, []);
  t.same(loadConfig({ file: path.join(root, 'ok.json'), packageRoot: root, env: {} }).groups, ['lobby', 'floor_2']);
  t.match(find(problemsOf(t, () => loadConfig({ file: path.join(root, 'bad.json'), packageRoot: root, env: {} })), 'groups'), /group names/);
  t.match(find(problemsOf(t, () => loadConfig({ file: path.join(root, 'twice.json'), packageRoot: root, env: {} })), 'groups'), /twice/);
});
