// The GStreamer source: its pipeline (pure), then the real thing with the software decoder
// (gstreamer-sw, the same code path as Jetson's gstreamer-nv but avdec_h264 in place of
// nvv4l2decoder + nvvidconv) against a real RTSP server, through ProcessSource's restart machinery.
import t from 'tap';
import { sharedFrames } from '../helpers/frames.js';
import { join } from 'node:path';
import { makeTestClip } from '../helpers/ffmpeg.js';
import { startRtspServer } from '../helpers/rtsp.js';
import { fpsFraction, gstArgs, gstPipeline } from '../../pipelines/sources/gst-args.js';
import { GstSource } from '../../pipelines/sources/gst-source.js';
import type { Frame } from '../../pipelines/sources/process-source.js';

t.test('pipelines: hardware and software decode share the frame contract', async (t) => {
  const nv = gstPipeline({ url: 'rtsp://10.0.0.5:554/live', fps: 10, width: 128, height: 128, decoder: 'gstreamer-nv', rtspTimeoutSec: 5 });
  t.equal(
    nv,
    'rtspsrc location=rtsp://10.0.0.5:554/live protocols=tcp latency=0 tcp-timeout=5000000 ! rtph264depay ! h264parse ! nvv4l2decoder ! nvvidconv ! video/x-raw,format=BGRx' +
      ' ! videorate drop-only=true ! video/x-raw,framerate=10/1 ! videoscale add-borders=true ! video/x-raw,width=128,height=128,pixel-aspect-ratio=1/1' +
      ' ! videoconvert ! video/x-raw,format=RGB ! fdsink fd=1 sync=false',
  );
  const sw = gstPipeline({ url: 'rtsp://10.0.0.5:554/live', fps: 10, width: 128, height: 128, decoder: 'gstreamer-sw', rtspTimeoutSec: 5 });
  t.equal(sw, nv.replace('nvv4l2decoder ! nvvidconv ! video/x-raw,format=BGRx', 'avdec_h264'), 'only the decoder differs');
  const spec = { url: 'file:///opt/demo%20clip.mp4', fps: 2.5, width: 160, height: 120, decoder: 'gstreamer-sw' as const, rtspTimeoutSec: 5 };
  const file = gstPipeline(spec);
  t.match(file, /^filesrc location=\/opt\/demo clip\.mp4 ! qtdemux ! h264parse ! avdec_h264 /);
  t.same(gstArgs(spec).slice(0, 4), ['-q', 'filesrc', 'location=/opt/demo clip.mp4', '!'], 'a path with a space stays one argument');
  t.match(file, /framerate=5\/2 .* fdsink fd=1 sync=true$/);
  t.match(gstArgs(spec, '/run/x/frames').slice(-3).join(' '), 'filesink location=/run/x/frames sync=true', 'the daemon writes into its FIFO');
  t.throws(() => gstPipeline({ url: 'http://x/y', fps: 5, width: 8, height: 8, decoder: 'gstreamer-sw', rtspTimeoutSec: 1 }), /unsupported camera URL scheme/);
  t.same([10, 2.5, 0.5, 0.25, 7.3].map(fpsFraction), ['10/1', '5/2', '1/2', '1/4', '73/10']);
});

t.test('gstreamer-sw against a real RTSP server: exact letterboxed frames, restart after a kill', async (t) => {
  const clip = join(t.testdir({}), 'clip.mp4');
  await makeTestClip(clip, { seconds: 2, fps: 10, width: 320, height: 240 });
  const server = await startRtspServer({ mounts: { '/cam1': clip } });
  t.teardown(() => server.stop());
  const src = new GstSource({
    id: 'cam1', url: server.url('/cam1'), fps: 5, width: 128, height: 128, decoder: 'gstreamer-sw',
    rtspTimeoutSec: 5, stallSec: 10, restartMinMs: 100, restartMaxMs: 500, frames: sharedFrames(t),
  });
  t.teardown(() => src.stop());
  const frames: Frame[] = [];
  const states: string[] = [];
  src.on('state', (s: string) => states.push(s));
  const got = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fewer than ${n} frames in 20 s (${src.status().lastError}; ${src.status().stderr.join(' | ')})`)), 20000);
      const on = (f: Frame) => {
        frames.push(f);
        if (frames.length >= n) {
          clearTimeout(timer);
          src.off('frame', on);
          resolve();
        }
      };
      src.on('frame', on);
    });
  src.start();
  await got(3);
  const f = frames[0];
  t.equal(f.data.length, 128 * 128 * 3, 'exactly W*H*3 bytes');
  t.same([f.width, f.height, f.camera], [128, 128, 'cam1']);
  const row = (r: number) => f.data.subarray(r * 384, (r + 1) * 384).reduce((a, b) => a + b, 0);
  // 320x240 into 128x128: 128x96 picture, 16 black rows above and below
  t.same([row(0), row(15), row(112), row(127)], [0, 0, 0, 0], 'black bars');
  t.ok(row(16) > 0 && row(64) > 0 && row(111) > 0, 'picture between them');
  t.same(frames.map((x) => x.seq).slice(0, 3), [0, 1, 2]);

  src.kill('test kill');
  frames.length = 0;
  await got(2);
  t.equal(src.restarts, 1);
  t.match(src.status().lastError ?? '', /gst-launch-1.0 killed by SIGKILL/);
  t.ok(frames[0].seq >= 3, 'sequence numbers continue across restarts');
  t.same(states.slice(0, 5), ['starting', 'running', 'backoff', 'starting', 'running']);
  await src.stop();
  t.equal(src.state, 'stopped');
});

t.test('faces mode: the decoder\'s I420 at the camera\'s size through y4menc, no colour conversion', async (t) => {
  const nv = gstPipeline({ url: 'rtsp://10.0.0.5:554/live', fps: 10, width: 1280, height: 720, decoder: 'gstreamer-nv', rtspTimeoutSec: 5, format: 'i420' });
  t.match(nv, /nvv4l2decoder ! nvvidconv ! video\/x-raw,format=I420 ! videorate drop-only=true ! video\/x-raw,framerate=10\/1 ! videoconvert ! video\/x-raw,format=I420 ! y4menc ! fdsink/);
  t.notMatch(nv, /BGRx|RGB|videoscale/, 'no BGRx → RGB on the CPU, no scaling');
  const clip = join(t.testdir({}), 'clip.mp4');
  await makeTestClip(clip, { seconds: 2, fps: 10, width: 320, height: 240 });
  const server = await startRtspServer({ mounts: { '/cam1': clip } });
  t.teardown(() => server.stop());
  const src = new GstSource({
    id: 'cam1', url: server.url('/cam1'), fps: 5, width: 1280, height: 720, format: 'i420', decoder: 'gstreamer-sw',
    rtspTimeoutSec: 5, stallSec: 10, restartMinMs: 100, restartMaxMs: 500, frames: sharedFrames(t),
  });
  t.teardown(() => src.stop());
  const f = await new Promise<Frame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no frame in 20 s (${src.status().lastError}; ${src.status().stderr.join(' | ')})`)), 20000);
    src.once('frame', (x: Frame) => (clearTimeout(timer), resolve(x)));
    src.start();
  });
  t.same([f.width, f.height, f.format, f.data.length], [320, 240, 'i420', 320 * 240 * 1.5], 'the camera\'s own size, 1.5 bytes a pixel');
});
