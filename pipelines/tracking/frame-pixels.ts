// THE one place tracking reads a frame's pixels (snapshots of a person's best face). Faces frames are
// I420 at the camera's size (issue 13; RGB24 still accepted); when the frame path changes again
// (frame bytes no longer in the supervisor), only this function changes. It copies: the frame's pooled
// buffer may be reused as soon as the call returns.
//
// A best face is kept on many frames (each time it improves) and shown on few (a snapshot), and the
// keeping happens on the frame's way to MQTT: it copies the frame's own bytes around the region
// (rows of the I420 planes, read from the frame's slot; no colour maths), and the RGB24 is made only
// when a snapshot is (D167).
import type { Frame } from '../sources/process-source.js';
import { i420Planes, resampleRegionI420 } from '../pre/yuv.js';
import { readSlotParts } from '../engines/slots.js';

export interface Pixels {
  /** Packed RGB24, width*height*3 bytes, a copy. */
  data: Buffer;
  width: number;
  height: number;
}

type Rect = { left: number; top: number; width: number; height: number };

/** What keepFrameRegion reads of a frame: an I420 frame in a slot is read there, only the rows it needs. */
type FrameLike = Pick<Frame, 'data' | 'width' | 'height' | 'slot'> & { format?: 'rgb24' | 'i420' };

/** A region of a frame as kept: the frame's own bytes around it, made into pixels by regionPixels. */
export interface KeptRegion {
  format: 'rgb24' | 'i420';
  /** rgb24: the region's packed rows; i420: a window of the frame's planes holding every sample the region's conversion reads. */
  data: Buffer;
  /** The window's size (the region's, for rgb24). */
  width: number;
  height: number;
  /** The region inside the window. */
  region: Rect;
}

/** The rectangle clipped to the frame, in whole pixels. */
function clip(frame: { width: number; height: number }, rect: Rect): Rect {
  const left = Math.max(0, Math.floor(rect.left));
  const top = Math.max(0, Math.floor(rect.top));
  const right = Math.min(frame.width, Math.ceil(rect.left + rect.width));
  const bottom = Math.min(frame.height, Math.ceil(rect.top + rect.height));
  return { left, top, width: Math.max(0, right - left), height: Math.max(0, bottom - top) };
}

/**
 * One axis of an I420 window: from an even luma coordinate one chroma sample before the region to one
 * after it (the bilinear chroma taps of resampleRegionI420 reach that far), clipped to the frame.
 */
function windowAxis(from: number, size: number, frameSize: number): { at: number; size: number } {
  const at = Math.max(0, 2 * (Math.floor(from / 2) - 1));
  const end = Math.min(frameSize, 2 * (Math.floor((from + size) / 2) + 1));
  return { at, size: end - at };
}

/**
 * Rows [row0, row0 + n) of an I420 frame's luma and the chroma rows under them, each plane's rows at
 * its full width: read from the frame's slot when it is in one (only those bytes, not the frame),
 * else views of its pixels.
 */
function planeBands(frame: FrameLike, row0: number, n: number): [Uint8Array, Uint8Array, Uint8Array] {
  const w = frame.width, cw = Math.ceil(w / 2), c0 = row0 / 2, cn = Math.ceil(n / 2);
  const ySize = w * frame.height, cSize = cw * Math.ceil(frame.height / 2);
  const parts = [[row0 * w, n * w], [ySize + c0 * cw, cn * cw], [ySize + cSize + c0 * cw, cn * cw]] as const;
  if (frame.slot) return readSlotParts(frame.slot, parts) as [Buffer, Buffer, Buffer];
  i420Planes(frame.data, w, frame.height); // checks the frame's length
  return parts.map(([at, len]) => frame.data.subarray(at, at + len)) as [Buffer, Buffer, Buffer];
}

/** The frame's bytes around a rectangle (frame pixels; clipped to the frame; integers), kept as they are. */
export function keepFrameRegion(frame: FrameLike, rect: Rect): KeptRegion {
  const r = clip(frame, rect);
  if (frame.format === 'i420') {
    if (!r.width || !r.height) return { format: 'i420', data: Buffer.alloc(0), width: 0, height: 0, region: { left: 0, top: 0, width: 0, height: 0 } };
    const x = windowAxis(r.left, r.width, frame.width), y = windowAxis(r.top, r.height, frame.height);
    const cw = Math.ceil(x.size / 2), ch = Math.ceil(y.size / 2);
    const [Y, U, V] = planeBands(frame, y.at, y.size);
    const chromaStride = Math.ceil(frame.width / 2);
    const out = Buffer.allocUnsafe(x.size * y.size + 2 * cw * ch);
    const rows = (band: Uint8Array, stride: number, at: number, w: number, h: number, into: number) => {
      for (let j = 0; j < h; j++) out.set(band.subarray(j * stride + at, j * stride + at + w), into + j * w);
    };
    rows(Y, frame.width, x.at, x.size, y.size, 0);
    rows(U, chromaStride, x.at / 2, cw, ch, x.size * y.size);
    rows(V, chromaStride, x.at / 2, cw, ch, x.size * y.size + cw * ch);
    return { format: 'i420', data: out, width: x.size, height: y.size, region: { left: r.left - x.at, top: r.top - y.at, width: r.width, height: r.height } };
  }
  const out = Buffer.allocUnsafe(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) {
    const src = ((r.top + y) * frame.width + r.left) * 3;
    frame.data.copy(out, y * r.width * 3, src, src + r.width * 3);
  }
  return { format: 'rgb24', data: out, width: r.width, height: r.height, region: { left: 0, top: 0, width: r.width, height: r.height } };
}

/** A kept region as packed RGB24, a new copy: the same pixels resampleRegionI420 makes of it in the whole frame. */
export function regionPixels(k: KeptRegion): Pixels {
  const { width, height } = k.region;
  if (k.format === 'rgb24' || !width || !height) return { data: Buffer.from(k.data), width, height };
  const rgb = resampleRegionI420(k.data, k.width, k.height, k.region, { width, height, fit: 'stretch', padColor: [0, 0, 0] });
  return { data: Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), width, height };
}
