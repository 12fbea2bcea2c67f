// The Edge TPU worker's frame reading (pipelines/engines/edgetpu/pixels.py) against the onnxruntime
// worker's (pipelines/pre/resample.ts, pipelines/pre/yuv.ts) on a real scene photo, RGB24 and I420, at an
// odd size (chroma planes rounded up): the detector input and face crops must be the same bytes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { resampleRegion, type Region, type ResampleTarget } from '../../pipelines/pre/resample.js';
import { resampleRegionI420, rgbToI420 } from '../../pipelines/pre/yuv.js';
import { i420ToTensor } from '../../pipelines/pre/yuv-tensor.js';

const root = join(import.meta.dirname, '..', '..');
const edgetpu = join(root, 'pipelines/engines/edgetpu');

const PY = `
import json, sys
sys.path.insert(0, sys.argv[1])
import pixels
spec = json.load(open(sys.argv[2]))
body = open(sys.argv[3], 'rb').read()
try:
    f = pixels.read_frame(spec['header'], body)
except pixels.FrameError as e:
    sys.stdout.write('FrameError: %s' % e)
    sys.exit(0)
out = sys.stdout.buffer
for r in spec['regions']:
    if r.get('detector'):
        out.write(f.detector_input(r['w'], r['h'], r['fit'], tuple(r['pad'])).tobytes())
    else:
        out.write(f.region(tuple(r['rect']), r['w'], r['h'], r['fit'], tuple(r['pad'])).tobytes())
`;

function python(dir: string, header: object, body: Buffer, regions: { rect: number[]; w: number; h: number; fit: string; pad: number[]; detector?: boolean }[]): Buffer {
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ header, regions }));
  writeFileSync(join(dir, 'frame.bin'), body);
  const r = spawnSync('/usr/bin/python3', ['-c', PY, edgetpu, join(dir, 'spec.json'), join(dir, 'frame.bin')], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

t.test('detector input and crops: the same bytes as the TypeScript side, RGB24 and I420', async (t) => {
  const dir = t.testdir({});
  // 639 x 479: odd on both axes
  const { data, info } = await sharp(join(root, 'test/fixtures/scenes/linzaer-masked-img7.jpg')).removeAlpha().resize({ width: 639, height: 479, fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const W = info.width, H = info.height;
  t.same([W, H], [639, 479]);
  const yuv = rgbToI420(data, W, H);
  const cases: { region: Region; target: ResampleTarget }[] = [
    { region: { left: 0, top: 0, width: W, height: H }, target: { width: 320, height: 240, fit: 'stretch', padColor: [0, 0, 0] } },
    { region: { left: 0, top: 0, width: W, height: H }, target: { width: 320, height: 320, fit: 'letterbox', padColor: [0, 0, 0] } },
    { region: { left: 101, top: 57, width: 93, height: 93 }, target: { width: 128, height: 128, fit: 'letterbox', padColor: [0, 0, 0] } },
    { region: { left: 550, top: 400, width: 89, height: 79 }, target: { width: 128, height: 128, fit: 'letterbox', padColor: [10, 20, 30] } },
    { region: { left: 1, top: 0, width: 31, height: 200 }, target: { width: 96, height: 64, fit: 'stretch', padColor: [0, 0, 0] } },
    { region: { left: 300, top: 200, width: 3, height: 2 }, target: { width: 128, height: 128, fit: 'letterbox', padColor: [0, 0, 0] } },
  ];
  const regions = cases.map((c) => ({ rect: [c.region.left, c.region.top, c.region.width, c.region.height], w: c.target.width, h: c.target.height, fit: c.target.fit, pad: [...c.target.padColor] }));
  for (const [format, body, resample] of [['rgb24', data, resampleRegion], ['i420', yuv, resampleRegionI420]] as const) {
    const py = python(dir, { width: W, height: H, format }, body, regions);
    let off = 0;
    cases.forEach((c, i) => {
      const ts = Buffer.from(resample(body, W, H, c.region, c.target));
      const got = py.subarray(off, off + ts.length);
      off += ts.length;
      let diff = 0;
      for (let k = 0; k < ts.length; k++) if (ts[k] !== got[k]) diff++;
      t.equal(diff, 0, `${format} case ${i} (${JSON.stringify(c.region)} -> ${c.target.width}x${c.target.height} ${c.target.fit}): ${diff} of ${ts.length} bytes differ`);
    });
    t.equal(off, py.length, `${format}: nothing more`);
  }
});

t.test('the detector input from I420: the same pixels as the onnxruntime worker\'s one-pass tensor (D97)', async (t) => {
  const dir = t.testdir({});
  for (const [w, h] of [[639, 479], [1280, 720]]) {
    const { data } = await sharp(join(root, 'test/fixtures/scenes/linzaer-masked-img7.jpg')).removeAlpha().resize({ width: w, height: h, fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const yuv = rgbToI420(data, w, h);
    const targets: ResampleTarget[] = [
      { width: 640, height: 480, fit: 'stretch', padColor: [0, 0, 0] },
      { width: 320, height: 320, fit: 'letterbox', padColor: [10, 20, 30] },
      { width: 321, height: 241, fit: 'stretch', padColor: [0, 0, 0] },
      // 1280 → 640 columns is an exact 2:1 shrink across, which the TypeScript side takes a shortcut
      // for (the daemon's case is the first target: 1280x720 stretched to 640x480); the Python side
      // has none, so equal bytes prove the shortcut exact
      { width: 640, height: 480, fit: 'letterbox', padColor: [0, 0, 0] },
      { width: 640, height: 360, fit: 'stretch', padColor: [0, 0, 0] },
    ];
    const py = python(dir, { width: w, height: h, format: 'i420' }, yuv, targets.map((x) => ({ rect: [0, 0, w, h], w: x.width, h: x.height, fit: x.fit, pad: [...x.padColor], detector: true })));
    let off = 0;
    for (const x of targets) {
      // the tensor as x = (p - 127) / 128 in NHWC RGB: exact in float32, so p comes back exactly
      const tensor = i420ToTensor(yuv, w, h, x, { layout: 'NHWC', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] });
      const ts = Buffer.from(tensor.map((v) => v * 128 + 127));
      const got = py.subarray(off, off + ts.length);
      off += ts.length;
      let diff = 0;
      for (let k = 0; k < ts.length; k++) if (ts[k] !== got[k]) diff++;
      t.equal(diff, 0, `${w}x${h} -> ${x.width}x${x.height} ${x.fit}: ${diff} of ${ts.length} bytes differ`);
    }
    t.equal(off, py.length, 'nothing more');
  }
});

t.test('bad frames: the onnxruntime worker\'s messages', async (t) => {
  const dir = t.testdir({});
  const err = (header: object, body: Buffer) => python(dir, header, body, []).toString();
  t.equal(err({ width: 64, height: 64, format: 'i420' }, Buffer.alloc(100)), 'FrameError: frame has 100 bytes, expected 6144 for 64x64 I420');
  t.equal(err({ width: 63, height: 63, format: 'i420' }, Buffer.alloc(63 * 63 * 3)), 'FrameError: frame has 11907 bytes, expected 6017 for 63x63 I420');
  t.equal(err({ width: 64, height: 64 }, Buffer.alloc(10)), 'FrameError: frame has 10 bytes, expected 12288 for 64x64 RGB24');
  t.equal(err({ width: 64, height: 64, format: 'nv12' }, Buffer.alloc(10)), 'FrameError: frame format "nv12" is not one of rgb24, i420');
  t.equal(err({ width: 8, height: 64 }, Buffer.alloc(10)), 'FrameError: frame size 8x64 must be integers 16..8192');
});
