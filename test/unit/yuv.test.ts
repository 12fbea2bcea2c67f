// Frames in the decoder's format: I420 layout, YUV → RGB (BT.601 limited range, what ffmpeg does),
// resampling from the planes against the RGB24 path, the luma thumbnail from the Y plane, and the
// YUV4MPEG2 framing the sources read.
import t from 'tap';
import { frameBytes, i420Planes, i420ToRgb, resampleRegionI420, rgbToI420, toRgb24 } from '../../pipelines/pre/yuv.js';
import { resampleRegion } from '../../pipelines/pre/resample.js';
import { lumaThumbnail } from '../../pipelines/motion.js';
import { FramePool } from '../../pipelines/sources/frame-pool.js';
import { parseY4mHeader, Y4mFramer } from '../../pipelines/sources/y4m.js';

/** A w x h RGB picture: R = x-gradient, G = y-gradient, B = a diagonal, all smooth. */
function picture(w: number, h: number): Uint8Array {
  const f = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) f.set([Math.round((255 * x) / (w - 1)), Math.round((255 * y) / (h - 1)), Math.round((127 * (x + y)) / (w + h))], (y * w + x) * 3);
  return f;
}
const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

t.test('I420 layout: sizes and planes, odd sizes round chroma up', async (t) => {
  t.equal(frameBytes('rgb24', 1280, 720), 2764800);
  t.equal(frameBytes('i420', 1280, 720), 1382400, 'half the bytes of RGB24');
  t.equal(frameBytes('i420', 5, 3), 15 + 2 * 3 * 2);
  const p = i420Planes(new Uint8Array(27), 5, 3);
  t.same([p.y.length, p.u.length, p.v.length, p.cw, p.ch], [15, 6, 6, 3, 2]);
  t.throws(() => i420Planes(new Uint8Array(26), 5, 3), /expected 27 for 5x3 I420/);
});

t.test('YUV → RGB: limited-range BT.601 colours come back within 2 levels', async (t) => {
  // known pairs (ffmpeg yuv420p → rgb24): black, white, mid grey, pure red
  const solid = (y: number, u: number, v: number) => Buffer.concat([Buffer.alloc(4, y), Buffer.alloc(1, u), Buffer.alloc(1, v)]);
  const px = (y: number, u: number, v: number) => [...i420ToRgb(solid(y, u, v), 2, 2).subarray(0, 3)];
  t.same(px(16, 128, 128), [0, 0, 0]);
  t.same(px(235, 128, 128), [255, 255, 255]);
  t.same(px(126, 128, 128), [128, 128, 128]);
  const red = px(81, 90, 240);
  t.ok(red[0] >= 253 && red[1] <= 2 && red[2] <= 2, `red ${red}`);
  const rgb = picture(64, 48);
  t.ok(maxDiff(i420ToRgb(rgbToI420(rgb, 64, 48), 64, 48), rgb) <= 6, 'a smooth picture survives RGB → I420 → RGB');
  t.equal(toRgb24({ data: Buffer.from(rgb), width: 64, height: 48 }).length, rgb.length, 'RGB24 frames pass through');
});

t.test('the whole frame as RGB24 is bit for bit what the resampler makes of it', async (t) => {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
  for (const [w, h] of [[64, 48], [37, 29], [2, 2], [1, 1]]) {
    const yuv = Uint8Array.from({ length: frameBytes('i420', w, h) }, rand);
    const whole = resampleRegionI420(yuv, w, h, { left: 0, top: 0, width: w, height: h }, { width: w, height: h, fit: 'stretch', padColor: [0, 0, 0] });
    t.same(Buffer.from(i420ToRgb(yuv, w, h)).equals(Buffer.from(whole)), true, `${w}x${h}, random samples`);
  }
  t.throws(() => i420ToRgb(new Uint8Array(6), 2, 2, new Uint8Array(5)), /expected 12/);
});

t.test('resampling from the planes matches the RGB24 path (detector input, letterboxed crop)', async (t) => {
  const w = 320, h = 180;
  const rgb = picture(w, h);
  const yuv = rgbToI420(rgb, w, h);
  const viaRgb = i420ToRgb(yuv, w, h);
  const full = { left: 0, top: 0, width: w, height: h };
  const stretch = { width: 80, height: 60, fit: 'stretch' as const, padColor: [0, 0, 0] as const };
  t.ok(maxDiff(resampleRegionI420(yuv, w, h, full, stretch), resampleRegion(viaRgb, w, h, full, stretch)) <= 3, 'whole frame to the detector size');
  const region = { left: 101, top: 33, width: 57, height: 90 };
  const box = { width: 32, height: 32, fit: 'letterbox' as const, padColor: [0, 0, 0] as const };
  const a = resampleRegionI420(yuv, w, h, region, box);
  t.ok(maxDiff(a, resampleRegion(viaRgb, w, h, region, box)) <= 3, 'an odd face crop, letterboxed');
  t.same([...a.subarray(0, 3)], [0, 0, 0], 'padding keeps its colour');
  t.throws(() => resampleRegionI420(yuv, w, h, { left: 300, top: 0, width: 30, height: 10 }, box), /not inside/);
});

t.test('the luma thumbnail of the Y plane matches the one of the same picture in RGB', async (t) => {
  const rgb = picture(640, 360);
  const a = lumaThumbnail(rgbToI420(rgb, 640, 360), 640, 360, 64, 'i420');
  const b = lumaThumbnail(rgb, 640, 360);
  t.equal(a.length, b.length);
  t.ok(maxDiff(a, b) <= 3, `max difference ${maxDiff(a, b)}`);
  t.throws(() => lumaThumbnail(new Uint8Array(10), 640, 360, 64, 'i420'), /I420 luma/);
});

t.test('YUV4MPEG2: header, frames from any chunking, parameters skipped, garbage refused', async (t) => {
  t.same(parseY4mHeader('YUV4MPEG2 W1280 H720 F10:1 Ip A1:1 C420jpeg XYSCSS=420JPEG'), { width: 1280, height: 720, colorspace: 'C420jpeg' });
  t.same(parseY4mHeader('YUV4MPEG2 W4 H2 F25:1').colorspace, 'C420jpeg', 'no C tag = 4:2:0');
  t.throws(() => parseY4mHeader('YUV4MPEG2 W4 H2 C444'), /only 4:2:0/);
  t.throws(() => parseY4mHeader('RIFF....'), /not a YUV4MPEG2 stream/);
  const W = 4, H = 2, n = frameBytes('i420', W, H);
  const frame = (k: number) => Buffer.from(Array.from({ length: n }, (_, i) => (k * 31 + i) % 256));
  const stream = Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip C420mpeg2\n`), Buffer.from('FRAME\n'), frame(0), Buffer.from('FRAME Ixyz\n'), frame(1), Buffer.from('FRAME\n'), frame(2)]);
  for (const chunk of [1, 5, 13, 1000]) {
    const pools: number[] = [];
    const framer = new Y4mFramer((w, h) => (pools.push(w * 100 + h), new FramePool(frameBytes('i420', w, h))));
    const got: Buffer[] = [];
    let off = 0;
    while (off < stream.length) {
      const target = framer.target();
      const k = Math.min(chunk, target.length, stream.length - off);
      stream.copy(target, 0, off, off + k);
      off += k;
      const f = framer.advance(k);
      if (f) {
        t.same([f.width, f.height], [W, H]);
        got.push(Buffer.from(f.data));
      }
    }
    t.same(got, [frame(0), frame(1), frame(2)], `chunks of ${chunk}: three exact frames`);
    t.same(pools, [402], 'one pool, made when the header told the size');
  }
  const bad = new Y4mFramer(() => new FramePool(n));
  const feed = (b: Buffer) => {
    for (const c of b) {
      bad.target()[0] = c;
      bad.advance(1);
    }
  };
  feed(Buffer.from(`YUV4MPEG2 W${W} H${H}\n`));
  t.throws(() => feed(Buffer.from('FRAMX\n')), /lost its frame markers/);
});
