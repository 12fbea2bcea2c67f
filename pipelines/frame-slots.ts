// Frames waiting for the engine: one slot per camera, newest wins. Never queues without bound:
// a frame that arrives while its camera's slot is full replaces the waiting one, which is counted
// as dropped. The engine takes frames round-robin across cameras so one busy camera cannot starve
// the others.

export class FrameSlots<F extends { camera: string }> {
  private slots = new Map<string, F>();
  private order: string[] = [];
  private next = 0;
  readonly dropped = new Map<string, number>();

  /** Put a frame in its camera's slot; returns the frame it displaced, if any. */
  offer(frame: F): F | undefined {
    const old = this.slots.get(frame.camera);
    if (!this.order.includes(frame.camera)) this.order.push(frame.camera);
    this.slots.set(frame.camera, frame);
    if (old) this.dropped.set(frame.camera, (this.dropped.get(frame.camera) ?? 0) + 1);
    return old;
  }

  /** Take the next waiting frame, round-robin over cameras. */
  take(): F | undefined {
    return this.takeMany(1, () => true)[0];
  }

  /** Up to `n` waiting frames that satisfy `pred`, round-robin over cameras (one per camera). */
  takeMany(n: number, pred: (f: F) => boolean): F[] {
    const out: F[] = [];
    const len = this.order.length;
    const start = this.next;
    for (let i = 0; i < len && out.length < n; i++) {
      const cam = this.order[(start + i) % len];
      const f = this.slots.get(cam);
      if (f && pred(f)) {
        this.slots.delete(cam);
        out.push(f);
        this.next = (start + i + 1) % len;
      }
    }
    return out;
  }

  /** The waiting frames that satisfy `pred` (read only). */
  waiting(pred: (f: F) => boolean): F[] {
    return [...this.slots.values()].filter(pred);
  }

  /** Drop everything waiting (counted), e.g. while no engine is available. */
  clear(): number {
    let n = 0;
    for (const cam of this.slots.keys()) {
      this.dropped.set(cam, (this.dropped.get(cam) ?? 0) + 1);
      n++;
    }
    this.slots.clear();
    return n;
  }

  get size(): number {
    return this.slots.size;
  }
}

/**
 * How many of `waiting` batchable frames the next engine request takes when no frame is held for a
 * batch (engine.batch.waitMs 0): an equal share per free worker, rounded up, at most maxFrames. A frame
 * alone on an idle worker is answered sooner than two together on one worker; a batch forms only when
 * frames outnumber free workers (under load, where it saves a request's overhead per frame). Pure.
 */
export function batchTake(waiting: number, freeWorkers: number, maxFrames: number): number {
  return Math.max(1, Math.min(maxFrames, Math.ceil(waiting / Math.max(1, freeWorkers))));
}
