// The live preview on a running daemon: an HTML page and an MJPEG stream of real JPEG frames.
import t from 'tap';
import { request } from 'node:http';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { DEMO_CLIP_URL, startDaemon, waitForOutput, writeConfig } from '../helpers/daemon.js';

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
  const cfg = writeConfig(t, {
    mqtt: { url: broker.url },
    http: { port },
    preview: { enabled: true, fps: 5 },
    cameras: [
      { id: 'door', url: DEMO_CLIP_URL, fps: 10, loop: true, mode: 'classify' },
      // faces mode: I420 frames, converted to RGB only for the picture shown
      { id: 'hall', url: DEMO_CLIP_URL, fps: 5, loop: true, mode: 'faces' },
    ],
  });
  const daemon = startDaemon(t, cfg);
  await waitForOutput(daemon, /health and metrics/);

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
  const hall = await get(port, '/preview/hall.mjpeg', (b) => jpegs(b) >= 2 && b.includes(Buffer.from('\xff\xd9', 'latin1')), 60000);
  t.ok(jpegs(hall.body) >= 2, 'a faces-mode camera (I420 frames) streams JPEG frames too');
  const missing = await get(port, '/preview/nope.mjpeg', () => false);
  t.equal(missing.status, 404);
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.exited(), 0, 'clean exit with a viewer connected before');
});
