// A region of interest: validated in config, cut by ffmpeg from the camera's picture before scaling.
import t from 'tap';
import { sharedFrames } from '../helpers/frames.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { checkRoi } from '../../daemon/config/config.js';
import { videoFilter } from '../../pipelines/sources/ffmpeg-args.js';
import { FfmpegSource, type Frame } from '../../pipelines/sources/ffmpeg-source.js';

t.test('config checks', async (t) => {
  t.same(checkRoi([10, 20, 100, 80], 'classify', undefined), []);
  t.match(checkRoi([10, 20, 100], 'classify', undefined)[0], /\[x, y, width, height\]/);
  t.match(checkRoi([0, 0, 8, 100], 'classify', 'ffmpeg')[0], /at least 16/);
  t.match(checkRoi([0, 0, 100, 100], 'faces', undefined)[0], /applies to "mode": "classify"/);
  t.match(checkRoi([0, 0, 100, 100], 'classify', 'gstreamer-sw')[0], /needs decoder "ffmpeg"/);
});

t.test('the crop comes first in the filter chain', async (t) => {
  t.equal(videoFilter({ fps: 10, width: 8, height: 8, roi: [160, 0, 160, 240] }).split(',')[0], 'crop=160:240:160:0');
  t.notMatch(videoFilter({ fps: 10, width: 8, height: 8 }), /crop/);
});

t.test('real ffmpeg: the right half of a red|blue clip is all blue', async (t) => {
  const clip = join(t.testdir({}), 'rb.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=320x240:r=10:d=2', '-f', 'lavfi', '-i', 'color=c=blue:s=160x240:r=10:d=2',
    '-filter_complex', '[0][1]overlay=x=160:y=0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
  const src = new FfmpegSource({ id: 'cam', url: `file://${clip}`, fps: 10, width: 16, height: 16, loop: true, rtspTimeoutSec: 5, roi: [176, 16, 128, 208],
    ffmpegPath: 'ffmpeg', stallSec: 10, restartMinMs: 100, restartMaxMs: 500, frames: sharedFrames(t) });
  t.teardown(() => src.stop());
  const frame = await new Promise<Frame>((resolve) => {
    src.once('frame', resolve);
    src.start();
  });
  let r = 0, b = 0;
  // only the picture, not the letterbox bars (128x208 → 10x16, bars left and right)
  for (let y = 0; y < 16; y++) for (let x = 4; x < 12; x++) {
    r += frame.data[(y * 16 + x) * 3];
    b += frame.data[(y * 16 + x) * 3 + 2];
  }
  t.ok(b > 10 * r, `blue dominates inside the region (r=${r}, b=${b})`);
});
