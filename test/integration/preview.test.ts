// The live preview on a running daemon: an HTML page and an MJPEG stream of real JPEG frames.
import t from 'tap';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';

const root = join(import.meta.dirname, '..', '..');

function get(port: number, path: string, until: (body: Buffer) => boolean, timeoutMs = 20000): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (until(Buffer.concat(chunks))) {
          req.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer on ${path} within ${timeoutMs} ms (${Buffer.concat(chunks).length} bytes)`));
    }, timeoutMs).unref();
    req.end();
  });
}

t.test('GET /preview and /preview/{camera}.mjpeg', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const port = await freePort();
  const cfg = join(t.testdir({}), 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      mqtt: { url: broker.url },
      http: { port },
      preview: { enabled: true, fps: 5 },
      cameras: [{ id: 'door', url: `file://${join(root, 'models/demo/demo.mp4')}`, fps: 10, loop: true, mode: 'classify' }],
    }),
  );
  const proc = spawn(process.execPath, [join(root, 'dist/daemon/main.js'), '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  t.teardown(() => proc.kill('SIGKILL'));
  for (let i = 0; i < 100 && !/health and metrics/.test(out); i++) await new Promise((r) => setTimeout(r, 200));
  t.match(out, /health and metrics/, 'http server up');

  const page = await get(port, '/preview', () => false);
  t.equal(page.status, 200);
  t.match(page.body.toString(), '<img src="/preview/door.mjpeg"');

  // Three JPEG parts: the stream carries real, complete images.
  const jpegs = (b: Buffer) => b.toString('latin1').split('\xff\xd8\xff').length - 1;
  const mj = await get(port, '/preview/door.mjpeg', (b) => jpegs(b) >= 3 && b.includes(Buffer.from('\xff\xd9', 'latin1')));
  t.equal(mj.status, 200);
  t.match(String(mj.headers['content-type']), /^multipart\/x-mixed-replace; boundary=/);
  t.ok(jpegs(mj.body) >= 3, 'several JPEG frames');
  t.match(mj.body.toString('latin1'), /content-type: image\/jpeg\r\ncontent-length: \d+/);
  const missing = await get(port, '/preview/nope.mjpeg', () => false);
  t.equal(missing.status, 404);
  proc.kill('SIGTERM');
  t.equal(await new Promise((r) => proc.once('exit', (c) => r(c))), 0, 'clean exit with a viewer connected before');
});
