// Reading a YUV4MPEG2 stream (what ffmpeg's `-f yuv4mpegpipe` and GStreamer's y4menc write) frame by
// frame into pooled buffers. The stream says its own size: a header line
// "YUV4MPEG2 W1280 H720 F10:1 Ip A1:1 C420jpeg", then per frame "FRAME" (+ optional parameters) and
// "\n", then the planes (I420: Y, U, V). A reader that picks where each read lands (a socket with
// `onread`) asks target() for the memory to fill and reports the bytes with advance(n); reads never
// cross a part, so frame bytes go straight into the frame's buffer. Pure (no I/O).
import { frameBytes } from '../pre/yuv.js';
import type { FramePool } from './frame-pool.js';

/** A complete frame: a buffer from the pool (owned by the caller from here) and its size. */
export interface FramedFrame {
  data: Buffer;
  width: number;
  height: number;
}

/** target()/advance(n) framing of a byte stream into frames. Throws an Error on a malformed stream. */
export interface Framer {
  target(): Buffer;
  advance(n: number): FramedFrame | null;
  /** The pool a frame's buffer came from (to return it). */
  readonly pool: FramePool | null;
}

/** Fixed-size frames (rawvideo of a known size). */
export class FixedFramer implements Framer {
  private frame: Buffer;
  private filled = 0;

  constructor(
    readonly pool: FramePool,
    private readonly width: number,
    private readonly height: number,
  ) {
    this.frame = pool.take();
  }

  target(): Buffer {
    return this.frame.subarray(this.filled);
  }

  advance(n: number): FramedFrame | null {
    this.filled += n;
    if (this.filled < this.frame.length) return null;
    const data = this.frame;
    this.frame = this.pool.take();
    this.filled = 0;
    return { data, width: this.width, height: this.height };
  }
}

export interface Y4mHeader {
  width: number;
  height: number;
  /** The chroma tag as written (C420jpeg, C420mpeg2, C420paldv, C420; absent = 420jpeg). */
  colorspace: string;
}

/** Parse a YUV4MPEG2 stream header line (without its "\n"); throws for anything but 4:2:0 8-bit. */
export function parseY4mHeader(line: string): Y4mHeader {
  const parts = line.split(' ');
  if (parts[0] !== 'YUV4MPEG2') throw new Error(`not a YUV4MPEG2 stream (starts with ${JSON.stringify(line.slice(0, 12))})`);
  let width = 0, height = 0, colorspace = 'C420jpeg';
  for (const p of parts.slice(1)) {
    if (p[0] === 'W') width = Number(p.slice(1));
    else if (p[0] === 'H') height = Number(p.slice(1));
    else if (p[0] === 'C') colorspace = p;
  }
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width <= 16384 && height <= 16384)) throw new Error(`YUV4MPEG2 header has no valid size: ${line}`);
  if (!/^C420(jpeg|mpeg2|paldv)?$/.test(colorspace)) throw new Error(`YUV4MPEG2 stream is ${colorspace.slice(1)}, only 4:2:0 8-bit (I420) is read`);
  return { width, height, colorspace };
}

const MARKER = Buffer.from('FRAME\n');
const MAX_LINE = 1024;

/** YUV4MPEG2 → I420 frames. poolFor(width, height) gives the pool for the stream's frame size. */
export class Y4mFramer implements Framer {
  private part: 'header' | 'marker' | 'params' | 'frame' = 'header';
  private line = Buffer.alloc(MAX_LINE);
  private lineLen = 0;
  private one = Buffer.alloc(1);
  private marker = Buffer.alloc(MARKER.length);
  private filled = 0;
  private frame: Buffer = this.one;
  header: Y4mHeader | null = null;
  pool: FramePool | null = null;

  constructor(private readonly poolFor: (width: number, height: number) => FramePool) {}

  target(): Buffer {
    if (this.part === 'header' || this.part === 'params') return this.one;
    if (this.part === 'marker') return this.marker.subarray(this.filled);
    return this.frame.subarray(this.filled);
  }

  advance(n: number): FramedFrame | null {
    if (n <= 0) return null;
    if (this.part === 'header' || this.part === 'params') {
      const c = this.one[0];
      if (c !== 0x0a) {
        if (this.lineLen >= MAX_LINE) throw new Error(`YUV4MPEG2 ${this.part} line longer than ${MAX_LINE} bytes`);
        this.line[this.lineLen++] = c;
        return null;
      }
      if (this.part === 'header') {
        const h = parseY4mHeader(this.line.toString('latin1', 0, this.lineLen));
        this.header = h;
        this.pool = this.poolFor(h.width, h.height);
        if (this.pool.bytes !== frameBytes('i420', h.width, h.height)) throw new Error(`frame pool holds ${this.pool.bytes}-byte buffers, a ${h.width}x${h.height} I420 frame is ${frameBytes('i420', h.width, h.height)}`);
      }
      const wasHeader = this.part === 'header';
      this.lineLen = 0;
      // after the stream header a frame marker follows; after a marker's parameters, the frame itself
      return wasHeader ? this.next('marker') : this.startData();
    }
    this.filled += n;
    if (this.part === 'marker') {
      if (this.filled < MARKER.length) return null;
      if (this.marker.subarray(0, 5).equals(MARKER.subarray(0, 5))) {
        if (this.marker[5] === 0x0a) return this.startData();
        if (this.marker[5] === 0x20) return this.next('params'); // FRAME with parameters: skip them
      }
      throw new Error(`YUV4MPEG2 stream lost its frame markers (got ${JSON.stringify(this.marker.toString('latin1'))})`);
    }
    if (this.filled < this.frame.length) return null;
    const data = this.frame;
    this.next('marker');
    return { data, width: this.header!.width, height: this.header!.height };
  }

  private next(part: Y4mFramer['part']): null {
    this.part = part;
    this.filled = 0;
    return null;
  }

  private startData(): null {
    this.frame = this.pool!.take();
    return this.next('frame');
  }
}
