// Frame slots (D134): a camera frame's pixels in a file in shared memory (/dev/shm), written by the
// frame reader and read where they are needed (the engine worker). A request names the
// slot instead of carrying the bytes; only the path and the byte count cross the supervisor.
import { closeSync, openSync, readSync } from 'node:fs';

/** A frame in a slot file: its first `bytes` bytes are the frame. */
export interface SlotRef {
  path: string;
  bytes: number;
}

/** A frame's pixels as a request carries them: the bytes, or the slot they are in. */
export type FramePixels = Buffer | SlotRef;

export const isSlot = (p: FramePixels): p is SlotRef => !Buffer.isBuffer(p);

/** A slot reference from a message header, or a message saying what is wrong with it. Pure. */
export function slotProblem(s: unknown): string | null {
  if (typeof s !== 'object' || s === null) return 'slot must be an object {path, bytes}';
  const { path, bytes } = s as Partial<SlotRef>;
  if (typeof path !== 'string' || !path.startsWith('/')) return `slot.path must be an absolute path (got ${JSON.stringify(path)})`;
  if (!Number.isInteger(bytes) || (bytes as number) < 1) return `slot.bytes must be a positive integer (got ${JSON.stringify(bytes)})`;
  return null;
}

/**
 * Read a slot's frame into `into` (at least ref.bytes long; a new buffer when absent). Throws naming the
 * slot when the file is missing or shorter than the frame.
 */
export function readSlot(ref: SlotRef, into?: Buffer): Buffer {
  const out = into && into.length >= ref.bytes ? into.subarray(0, ref.bytes) : Buffer.allocUnsafe(ref.bytes);
  return readSlotParts(ref, [[0, ref.bytes]], [out])[0];
}

/**
 * Parts [offset, length] of a slot's frame, each into a new buffer (or the one given at its index),
 * with one open of the file. Throws naming the slot when the file is missing or a part lies beyond it.
 */
export function readSlotParts(ref: SlotRef, parts: readonly (readonly [number, number])[], into: Buffer[] = []): Buffer[] {
  for (const [offset, length] of parts)
    if (!(offset >= 0 && length >= 0 && offset + length <= ref.bytes)) throw new RangeError(`frame slot ${ref.path}: bytes ${offset}..${offset + length} are outside its ${ref.bytes}-byte frame`);
  let fd: number;
  try {
    fd = openSync(ref.path, 'r');
  } catch (e) {
    throw new Error(`frame slot ${ref.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parts.map(([offset, length], i) => {
      const out = into[i] ?? Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, out, got, length - got, offset + got);
        if (n === 0) throw new Error(`frame slot ${ref.path} holds ${offset + got} bytes, the frame is ${ref.bytes}`);
        got += n;
      }
      return out;
    });
  } finally {
    closeSync(fd);
  }
}

/** Reused read buffers by size (a worker reads one frame after another; a batch several at once). */
export class SlotBuffers {
  private free = new Map<number, Buffer[]>();

  constructor(private readonly keep = 8) {}

  /** Read the slot into a pooled buffer; give() it back once the request is done. */
  read(ref: SlotRef): Buffer {
    const list = this.free.get(ref.bytes);
    return readSlot(ref, list?.pop());
  }

  give(b: Buffer): void {
    const list = this.free.get(b.length) ?? [];
    if (list.length < this.keep && !list.includes(b)) list.push(b);
    this.free.set(b.length, list);
  }
}
