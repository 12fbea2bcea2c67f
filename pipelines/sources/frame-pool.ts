// Reusable frame buffers. A 720p RGB24 frame is 2.7 MB; allocating one per frame (and one per 64 KB
// pipe read) kept the frame path's garbage collector busy for most of its CPU time (docs/BENCHMARKS.md); the frame reader (D134) uses them.
// A pooled frame is reference counted: whoever keeps it past the call that handed it over holds it,
// and the last release returns the buffer to its pool. A frame nobody releases is simply collected.

export class FramePool {
  private free: Buffer[] = [];
  /** Buffers handed out since the pool was made (a measure of churn; tests and metrics). */
  allocated = 0;

  constructor(
    readonly bytes: number,
    /** At most this many idle buffers are kept. */
    readonly keep = 4,
  ) {
    if (!(Number.isInteger(bytes) && bytes > 0)) throw new RangeError(`frame size must be a positive integer, got ${bytes}`);
  }

  take(): Buffer {
    const b = this.free.pop();
    if (b) return b;
    this.allocated++;
    return Buffer.allocUnsafe(this.bytes);
  }

  give(b: Buffer): void {
    if (b.length === this.bytes && this.free.length < this.keep && !this.free.includes(b)) this.free.push(b);
  }

  get idle(): number {
    return this.free.length;
  }
}

/** A reference count starting at 1: the last release calls `onLast` (once); a hold after it throws. */
export class Held {
  private refs = 1;

  constructor(private readonly onLast: () => void) {}

  hold(): void {
    if (this.refs <= 0) throw new Error('frame used after its last release');
    this.refs++;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.onLast();
  }

  get held(): boolean {
    return this.refs > 0;
  }
}

/** A buffer with a reference count; the last release gives it back to the pool. */
export class PooledBuffer extends Held {
  constructor(
    readonly data: Buffer,
    pool: FramePool | null,
  ) {
    super(() => pool?.give(data));
  }
}
