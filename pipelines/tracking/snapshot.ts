// Snapshots of a person's best face (privacy setting `people.privacy`): off = no images; on = the
// face with some context; blur = the same, with every other face in it pixelated (bystanders). The
// frame's bytes around it are kept when a track's best face improves (frame-pixels.ts), and made
// into RGB24 and a JPEG only when a snapshot is published (an unmasked person's verdict or leave).
import sharp from 'sharp';
import type { Box } from './associate.js';
import { regionPixels, type KeptRegion, type Pixels } from './frame-pixels.js';

export type Privacy = 'off' | 'on' | 'blur';

/** The region around a face that a snapshot shows: the box grown by `context` of its size each way. Pure. */
export function snapshotRegion(box: Box, frameW: number, frameH: number, context = 0.5): { left: number; top: number; width: number; height: number } {
  const [x, y, w, h] = box;
  const left = Math.max(0, Math.floor(x - w * context));
  const top = Math.max(0, Math.floor(y - h * context));
  const right = Math.min(frameW, Math.ceil(x + w * (1 + context)));
  const bottom = Math.min(frameH, Math.ceil(y + h * (1 + context)));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

/** Pixelate a rectangle (pixels of `p`) in place with `block`-pixel squares: the face cannot be recognised. Pure on its input. */
export function pixelate(p: Pixels, rect: { left: number; top: number; width: number; height: number }, block = 12): void {
  const x0 = Math.max(0, Math.floor(rect.left)), y0 = Math.max(0, Math.floor(rect.top));
  const x1 = Math.min(p.width, Math.ceil(rect.left + rect.width)), y1 = Math.min(p.height, Math.ceil(rect.top + rect.height));
  for (let by = y0; by < y1; by += block)
    for (let bx = x0; bx < x1; bx += block) {
      const ex = Math.min(x1, bx + block), ey = Math.min(y1, by + block);
      const sum = [0, 0, 0];
      let n = 0;
      for (let y = by; y < ey; y++)
        for (let x = bx; x < ex; x++) {
          const i = (y * p.width + x) * 3;
          sum[0] += p.data[i];
          sum[1] += p.data[i + 1];
          sum[2] += p.data[i + 2];
          n++;
        }
      if (!n) continue;
      const c = sum.map((v) => Math.round(v / n));
      for (let y = by; y < ey; y++)
        for (let x = bx; x < ex; x++) {
          const i = (y * p.width + x) * 3;
          p.data[i] = c[0];
          p.data[i + 1] = c[1];
          p.data[i + 2] = c[2];
        }
    }
}

/**
 * A kept best face: the frame's bytes around its region, and the bystanders' boxes (frame pixels) to
 * pixelate with privacy blur; made into an image only for a snapshot (snapshotPixels, D167).
 */
export interface SnapshotCrop {
  seq: number;
  kept: KeptRegion;
  /** Where the region lies in the frame (the bystanders' boxes are frame pixels). */
  region: { left: number; top: number };
  others: readonly Box[];
}

/** A kept best face as the snapshot's RGB24: the region's pixels, bystanders pixelated. */
export function snapshotPixels(c: SnapshotCrop): Pixels {
  const p = regionPixels(c.kept);
  blurBystanders(p, c.region, c.others);
  return p;
}

/** The bystanders' boxes, frame pixels → pixelated in the region's copy. */
export function blurBystanders(p: Pixels, region: { left: number; top: number }, others: readonly Box[]): void {
  for (const [x, y, w, h] of others) pixelate(p, { left: x - region.left, top: y - region.top, width: w, height: h });
}

/** A snapshot's JPEG, made on a later turn of the event loop: after the result of the frame at hand is out. */
export function snapshotJpeg(c: SnapshotCrop, quality = 85): Promise<Buffer> {
  return new Promise((resolve) => setImmediate(resolve)).then(() => encodeJpeg(snapshotPixels(c), quality));
}

export async function encodeJpeg(p: Pixels, quality = 85): Promise<Buffer> {
  return sharp(p.data, { raw: { width: p.width, height: p.height, channels: 3 } }).jpeg({ quality }).toBuffer();
}
