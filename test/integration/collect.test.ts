// edgectl collect against a running daemon: whole frames from a classify camera, face crops from a
// faces camera, saved into DIR/unlabelled/ as real JPEGs.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { parseInterval, clipBox } from '../../deploy/collect.js';
import { DEMO_CLIP_URL, ROOT as root, startDaemon, waitForOutput, writeConfig } from '../helpers/daemon.js';

t.test('intervals and crop clipping', async (t) => {
  t.same([parseInterval('2s'), parseInterval('500ms'), parseInterval('1.5m'), parseInterval('3')], [2000, 500, 90000, 3000]);
  t.throws(() => parseInterval('soon'), /not an interval/);
  t.throws(() => parseInterval('10ms'), /below 100 ms/);
  t.same(clipBox([-10, 5, 50, 50], 100, 100), { left: 0, top: 5, width: 40, height: 50 });
  t.equal(clipBox([98, 98, 10, 10], 100, 100), null);
});

t.test('collect frames and face crops from a running daemon', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const port = await freePort();
  const dir = t.testdir({});
  const cfg = writeConfig(t, {
    mqtt: { url: broker.url },
    http: { port },
    preview: { enabled: true },
    cameras: [
      { id: 'kiosk', url: DEMO_CLIP_URL, fps: 5, loop: true, mode: 'classify' },
      { id: 'door', url: `file://${join(root, 'test/fixtures/scenes/scenes.mp4')}`, fps: 5, loop: true, mode: 'faces' },
    ],
  });
  const daemon = startDaemon(t, cfg);
  await waitForOutput(daemon, /health and metrics/);

  const edgectl = (args: string[]) => spawnSync(process.execPath, [join(root, 'dist/deploy/edgectl.js'), 'collect', '--url', `http://127.0.0.1:${port}`, ...args], { encoding: 'utf8', timeout: 60000 });
  const frames = edgectl(['--camera', 'kiosk', '--out', join(dir, 'frames'), '--count', '3', '--every', '300ms']);
  t.equal(frames.status, 0, frames.stderr + daemon.output().slice(-2000));
  const saved = readdirSync(join(dir, 'frames', 'unlabelled'));
  t.equal(saved.length, 3);
  const meta = await sharp(join(dir, 'frames', 'unlabelled', saved[0])).metadata();
  const { input } = JSON.parse(readFileSync(join(root, 'models/mask-mobilenet/model.json'), 'utf8'));
  t.same([meta.format, meta.width, meta.height], ['jpeg', input.width, input.height], 'a whole classify-mode frame, at the model\'s input size');

  const crops = edgectl(['--camera', 'door', '--out', join(dir, 'crops'), '--count', '4', '--every', '300ms', '--faces']);
  t.equal(crops.status, 0, crops.stderr);
  const files = readdirSync(join(dir, 'crops', 'unlabelled'));
  t.equal(files.length, 4);
  for (const f of files) {
    const m = await sharp(join(dir, 'crops', 'unlabelled', f)).metadata();
    t.ok(m.format === 'jpeg' && m.width! >= 8 && m.width! < 1280, `${f}: a face crop ${m.width}x${m.height}`);
  }

  const unknown = edgectl(['--camera', 'nope', '--out', join(dir, 'x'), '--count', '1']);
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /no camera "nope"/);
});
