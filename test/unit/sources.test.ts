import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegArgs, videoFilter, backoffMs } from '../../pipelines/sources/ffmpeg-args.js';
import { FrameSlots, batchTake } from '../../pipelines/frame-slots.js';
import { resolveFfmpeg, findOnPath } from '../../pipelines/sources/ffmpeg-path.js';

t.test('RTSP arguments: TCP, I/O timeout in µs, low-latency probing, letterboxed rgb24', async (t) => {
  const a = ffmpegArgs({ url: 'rtsp://127.0.0.1:8554/cam1', fps: 10, width: 128, height: 128, loop: false, rtspTimeoutSec: 5 });
  const s = a.join(' ');
  t.match(s, '-rtsp_transport tcp -timeout 5000000');
  t.match(s, '-probesize 32 -analyzeduration 0');
  t.match(s, '-i rtsp://127.0.0.1:8554/cam1');
  t.notMatch(s, /stimeout|rw_timeout|stream_loop/);
  t.equal(a[a.indexOf('-vf') + 1], 'fps=10,scale=128:128:force_original_aspect_ratio=decrease:flags=bilinear,pad=128:128:(ow-iw)/2:(oh-ih)/2:color=black,format=rgb24');
  t.same(a.slice(-5), ['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  // the daemon's output: the source's FIFO, which exists already (-y: no overwrite prompt)
  const f = ffmpegArgs({ url: 'rtsp://127.0.0.1:8554/cam1', fps: 10, width: 128, height: 128, loop: false, rtspTimeoutSec: 5 }, 'file:/run/x/frames');
  t.same(f.slice(-6), ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', 'file:/run/x/frames']);
});

t.test('faces mode: I420 as YUV4MPEG2 at the camera\'s size, scaled down only when larger than the frame limit', async (t) => {
  const a = ffmpegArgs({ url: 'rtsp://127.0.0.1:8554/cam1', fps: 10, width: 1280, height: 720, format: 'i420', loop: false, rtspTimeoutSec: 5 }, 'file:/run/x/frames');
  t.equal(a[a.indexOf('-vf') + 1], "fps=10,scale='min(iw,1280)':'min(ih,720)':force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear,format=yuv420p");
  t.same(a.slice(-6), ['-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', '-y', 'file:/run/x/frames']);
  t.notMatch(a.join(' '), /rgb24|pad=/, 'no colour conversion, no bars');
});

t.test('file arguments: real-time pacing and looping', async (t) => {
  const a = ffmpegArgs({ url: 'file:///opt/demo%20clip.mp4', fps: 5, width: 160, height: 120, loop: true, rtspTimeoutSec: 5 });
  t.match(a.join(' '), '-re -stream_loop -1 -i /opt/demo clip.mp4');
  t.notMatch(a.join(' '), /rtsp_transport/);
  t.equal(videoFilter({ fps: 5, width: 160, height: 120 }).split(',')[0], 'fps=5');
  t.throws(() => ffmpegArgs({ url: 'http://x/y', fps: 5, width: 8, height: 8, loop: false, rtspTimeoutSec: 1 }), /unsupported camera URL scheme http:/);
});

t.test('models/train/eval_clip.py decodes with the daemon\'s classify-mode filter (its copy agrees)', async (t) => {
  const py = readFileSync(join(import.meta.dirname, '..', '..', 'models', 'train', 'eval_clip.py'), 'utf8');
  const m = /^DAEMON_FILTER = "([^"]+)"$/m.exec(py);
  t.ok(m, 'eval_clip.py has DAEMON_FILTER');
  for (const [fps, s] of [[10, 128], [5, 160]]) {
    t.equal(m![1].replaceAll('{fps}', String(fps)).replaceAll('{s}', String(s)), videoFilter({ fps, width: s, height: s }));
  }
});

t.test('backoff doubles from min to max with bounded jitter', async (t) => {
  const mid = () => 0.5;
  t.same([0, 1, 2, 3, 4, 5, 10].map((a) => backoffMs(a, 1000, 30000, mid)), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  for (let i = 0; i < 50; i++) {
    const d = backoffMs(2, 1000, 30000);
    t.ok(d >= 3200 && d <= 4800, `jittered ${d}`);
  }
  t.ok(backoffMs(50, 1000, 30000, () => 1) <= 30000);
});

t.test('frame slots: newest wins, drops counted, round robin', async (t) => {
  const s = new FrameSlots<{ camera: string; n: number }>();
  s.offer({ camera: 'a', n: 1 });
  t.same(s.offer({ camera: 'a', n: 2 }), { camera: 'a', n: 1 });
  s.offer({ camera: 'b', n: 1 });
  s.offer({ camera: 'c', n: 1 });
  t.equal(s.size, 3);
  t.same(s.take(), { camera: 'a', n: 2 });
  s.offer({ camera: 'a', n: 3 });
  t.same(s.take(), { camera: 'b', n: 1 });
  t.same(s.take(), { camera: 'c', n: 1 });
  t.same(s.take(), { camera: 'a', n: 3 });
  t.equal(s.take(), undefined);
  s.offer({ camera: 'b', n: 2 });
  t.equal(s.clear(), 1);
  t.same(Object.fromEntries(s.dropped), { a: 1, b: 1 });
});

t.test('frame slots: a batch takes one frame per camera, round robin, only those asked for', async (t) => {
  const s = new FrameSlots<{ camera: string; n: number }>();
  for (const camera of ['a', 'b', 'c', 'd']) s.offer({ camera, n: 1 });
  const notC = (f: { camera: string }) => f.camera !== 'c';
  t.same(s.waiting(notC).map((f) => f.camera), ['a', 'b', 'd']);
  t.same(s.takeMany(2, notC).map((f) => f.camera), ['a', 'b']);
  s.offer({ camera: 'a', n: 2 });
  t.same(s.takeMany(5, notC).map((f) => f.camera + f.n), ['d1', 'a2'], 'continues after the last camera taken');
  t.same(s.takeMany(5, notC), []);
  t.same(s.take(), { camera: 'c', n: 1 }, 'the others stay for take()');
});

t.test('ffmpeg resolution: config, then PATH, then the npm package', async (t) => {
  t.same(resolveFfmpeg('/opt/ffmpeg'), { path: '/opt/ffmpeg', origin: 'config' });
  t.equal(findOnPath('definitely-not-a-command-xyz'), null);
  const npm = resolveFfmpeg('', '/nonexistent');
  t.equal(npm.origin, 'npm');
  t.match(npm.path, /@ffmpeg-installer/);
});

t.test('the camera resolution is read from ffmpeg\'s input dump; header lines are not errors', async (t) => {
  const { parseInputVideoSize, isHeaderLine } = await import('../../pipelines/sources/ffmpeg-args.js');
  t.same(parseInputVideoSize('  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 1920x1080, 10 fps, 10 tbr, 90k tbn'), { width: 1920, height: 1080 });
  t.same(parseInputVideoSize('  Stream #0:0(und): Video: h264 (avc1 / 0x31637661), yuv420p(tv, bt709), 640x480 [SAR 1:1 DAR 4:3], 1046 kb/s'), { width: 640, height: 480 });
  t.equal(parseInputVideoSize('  Stream #0:1: Audio: aac, 48000 Hz, stereo'), null);
  t.equal(parseInputVideoSize('[rtsp @ 0x55] method DESCRIBE failed: 404 Not Found'), null);
  t.ok(isHeaderLine('Input #0, rtsp, from \'rtsp://127.0.0.1:8554/cam1\':'));
  t.ok(isHeaderLine('  Duration: N/A, start: 0.000000, bitrate: N/A'));
  t.ok(isHeaderLine('Stream mapping:'));
  t.notOk(isHeaderLine('[rtsp @ 0x55] method DESCRIBE failed: 404 Not Found'));
  t.notOk(isHeaderLine('rtsp://127.0.0.1:8554/cam1: Connection refused'));
  const args = (await import('../../pipelines/sources/ffmpeg-args.js')).ffmpegArgs({ url: 'rtsp://h/x', fps: 10, width: 8, height: 8, loop: false, rtspTimeoutSec: 5 }).join(' ');
  t.match(args, '-nostats -loglevel info');
});

t.test('camera passwords are masked in what a source reports', async (t) => {
  const { maskUrlPasswords } = await import('../../pipelines/sources/process-source.js');
  t.equal(maskUrlPasswords('rtsp://viewer:secretpw@10.0.0.5:554/s1: Connection refused'), 'rtsp://viewer:****@10.0.0.5:554/s1: Connection refused');
  t.equal(maskUrlPasswords('[tcp @ 0x1] Connection to tcp://10.0.0.5:554 failed'), '[tcp @ 0x1] Connection to tcp://10.0.0.5:554 failed');
  t.equal(maskUrlPasswords('a rtsp://u:p@h/x and rtsps://v:q@k/y'), 'a rtsp://u:****@h/x and rtsps://v:****@k/y');
});

t.test('a real ffmpeg error naming a camera URL reaches lastError without the password', async (t) => {
  const { FfmpegSource } = await import('../../pipelines/sources/ffmpeg-source.js');
  const { freePort } = await import('../helpers/ports.js');
  const { sharedFrames } = await import('../helpers/frames.js');
  const port = await freePort(); // nothing listens: connection refused
  const src = new FfmpegSource({ id: 'cam', url: `rtsp://viewer:secretpw@127.0.0.1:${port}/s1`, fps: 5, width: 8, height: 8, loop: false, rtspTimeoutSec: 2, ffmpegPath: 'ffmpeg', stallSec: 10, restartMinMs: 5000, restartMaxMs: 5000, frames: sharedFrames(t) });
  t.teardown(() => src.stop());
  const reason = await new Promise<string>((resolve) => {
    src.on('state', (s: string, r?: string) => s === 'backoff' && resolve(r ?? ''));
    src.start();
  });
  t.notMatch(reason + JSON.stringify(src.status()), /secretpw/);
  t.match(JSON.stringify(src.status()), /viewer:\*\*\*\*@|Connection refused|exited/);
});

t.test('batchTake: waiting frames shared among the free workers first, batches only beyond them', async (t) => {
  t.equal(batchTake(1, 2, 4), 1, 'one frame, an idle worker: alone');
  t.equal(batchTake(2, 2, 4), 1, 'two frames, two idle workers: one each');
  t.equal(batchTake(3, 2, 4), 2, 'three frames, two workers: 2 then 1');
  t.equal(batchTake(4, 1, 4), 4, 'one worker free: every waiting frame, up to maxFrames');
  t.equal(batchTake(12, 1, 4), 4, 'never more than maxFrames');
  t.equal(batchTake(5, 0, 4), 4, 'no worker counted free: as for one');
  t.equal(batchTake(3, 1, 1), 1, 'maxFrames 1: no batching');
});
