// One camera's frame slots (D134): files in the shared-memory folder that the frame reader fills and
// the engine workers read. The supervisor decides which slot the reader may fill next (it lends
// slots, a few at a time: when the reader holds `refillAt` or fewer, enough to bring it back to
// `lendTarget`, so one lend message serves several frames; each message wakes the reader, which
// costs CPU on both sides, D134); a filled slot is held by its frame until the frame's last release, then
// it is free to lend again. New files are made while the camera has fewer than `max`; with all of
// them held the reader has nothing to fill and drops frames (counted) until one comes back.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SlotStats {
  files: number;
  free: number;
  /** Lent to the reader, not filled yet. */
  lent: number;
  /** Filled and held by frames in the supervisor (waiting, in flight, shown). */
  held: number;
}

export class SlotRing {
  private free: string[] = [];
  private lent = new Set<string>();
  private held = new Set<string>();
  private made: string[] = [];

  constructor(
    private readonly dir: string,
    /** File name prefix (the camera's index: camera ids may hold any character). */
    private readonly prefix: string,
    /** The most files this camera may have. */
    readonly max = 8,
    /** How many slots the reader holds ready to fill, at most. */
    readonly lendTarget = 3,
    /** Lend again once the reader holds this many or fewer. */
    readonly refillAt = Math.min(1, lendTarget - 1),
  ) {
    if (!(Number.isInteger(max) && max >= lendTarget && lendTarget >= 1)) throw new RangeError(`slot ring: max ${max} must be ≥ lendTarget ${lendTarget} ≥ 1`);
    if (!(Number.isInteger(refillAt) && refillAt >= 0 && refillAt < lendTarget)) throw new RangeError(`slot ring: refillAt ${refillAt} must be in 0..lendTarget-1`);
  }

  /** Slots to lend the reader now: none while it holds more than refillAt, else up to lendTarget (new files while under max). */
  lend(): string[] {
    const out: string[] = [];
    if (this.lent.size > this.refillAt) return out;
    while (this.lent.size < this.lendTarget) {
      let p = this.free.pop();
      if (!p) {
        if (this.made.length >= this.max) break;
        p = join(this.dir, `${this.prefix}-${this.made.length}`);
        writeFileSync(p, '', { mode: 0o600 });
        this.made.push(p);
      }
      this.lent.add(p);
      out.push(p);
    }
    return out;
  }

  /** The reader filled a lent slot: its frame holds it now. False for a slot that was not lent (a stale notice). */
  filled(path: string): boolean {
    if (!this.lent.delete(path)) return false;
    this.held.add(path);
    return true;
  }

  /** A frame's last release: its slot is free again. */
  released(path: string): void {
    if (this.held.delete(path)) this.free.push(path);
  }

  /** The reader's run ended (or the reader died): the slots lent to it are free again. */
  reclaim(): void {
    for (const p of this.lent) this.free.push(p);
    this.lent.clear();
  }

  stats(): SlotStats {
    return { files: this.made.length, free: this.free.length, lent: this.lent.size, held: this.held.size };
  }

  /** Delete the files (at the source's stop; frames still held read nothing after this). */
  remove(): void {
    for (const p of this.made) rmSync(p, { force: true });
    this.made = [];
    this.free = [];
    this.lent.clear();
    this.held.clear();
  }
}
