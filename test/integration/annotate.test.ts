// edgectl annotate (built): the daemon's faces pipeline on a picture, boxes drawn; bad input is a clear error.
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const root = join(import.meta.dirname, '..', '..');
const edgectl = join(root, 'dist/deploy/edgectl.js');
const run = (args: string[]) => promisify(execFile)(process.execPath, [edgectl, ...args]).then(
  (r) => ({ code: 0, ...r }),
  (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
);

t.test('annotate a scene with a config: JSON faces and a JPEG of the same size', async (t) => {
  const dir = t.testdir({});
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ cameras: [{ id: 'door', url: 'rtsp://127.0.0.1/x' }], faces: { margin: 0.2, maxFaces: 3 } }));
  const out = join(dir, 'out.jpg');
  const r = await run(['annotate', join(root, 'test/fixtures/scenes/linzaer-imgs-19.jpg'), '-o', out, '--config', cfg, '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.equal(j.counts.faces, 3, 'maxFaces from the config reached the pipeline');
  t.equal(j.label, 'no_mask');
  const meta = await sharp(out).metadata();
  t.same([meta.format, meta.width, meta.height], ['jpeg', 1024, 754]);
});

t.test('not an image, or a bad config: clear errors', async (t) => {
  const dir = t.testdir({ 'x.jpg': 'this is not a picture', 'bad.json': '{"cameras": [{"id": "a", "url": "rtsp://h/x", "mode": "face"}]}' });
  const r = await run(['annotate', join(dir, 'x.jpg'), '-o', join(dir, 'o.jpg')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /is not a readable image/);
  const r2 = await run(['annotate', join(root, 'test/fixtures/scenes/aizoo-demo2.jpg'), '-o', join(dir, 'o.jpg'), '--config', join(dir, 'bad.json')]);
  t.equal(r2.code, 1);
  t.match(r2.stderr, /cameras\[0\]\.mode/);
  const r3 = await run(['annotate', join(dir, 'x.jpg')]);
  t.equal(r3.code, 64, 'usage error without -o');
});
