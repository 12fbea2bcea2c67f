// What a camera in faces mode says about a frame, and when it says it: the frame label, the
// debounced state (hysteresis) and the per-frame publish gate (rate limit). Pure: time is passed in.

export type FrameLabel = 'mask' | 'no_mask' | 'no_face';

export interface FaceCounts {
  faces: number;
  mask: number;
  no_mask: number;
}

/**
 * Faces shorter than this (box height, pixels of the frame the detector saw) do not make the frame
 * label while the frame has a taller face (config `faces.frameLabelMinFace`, D121): in a crowd the
 * small faces are the ones the classifier misreads, and one of them made masked crowds say no_mask.
 */
export const FRAME_LABEL_MIN_FACE = 32;

/**
 * Frame label: no_mask if any face is unmasked, mask if all faces are masked, no_face if none.
 * With `minFaceHeight` > 0 the label is made from the faces at least that tall, or from all of them
 * when none is (a lone small face still labels its frame). `counts` always count every face.
 */
export function frameLabel(faces: readonly { label: string; box?: readonly number[] }[], minFaceHeight = 0): { label: FrameLabel; counts: FaceCounts } {
  let mask = 0, noMask = 0, tallNoMask = 0, tall = 0;
  for (const f of faces) {
    const isTall = !(minFaceHeight > 0) || (f.box !== undefined && f.box[3] >= minFaceHeight);
    if (isTall) tall++;
    if (f.label === 'no_mask') {
      noMask++;
      if (isTall) tallNoMask++;
    } else if (f.label === 'mask') mask++;
  }
  const unmasked = tall > 0 ? tallNoMask : noMask;
  const label: FrameLabel = faces.length === 0 ? 'no_face' : unmasked > 0 ? 'no_mask' : 'mask';
  return { label, counts: { faces: faces.length, mask, no_mask: noMask } };
}

export interface StateChange {
  state: FrameLabel;
  previous: FrameLabel | null;
  /** Time and camera sequence number of the first frame of the run that made the change. */
  since: string;
  sinceFrame: number;
  /** Consecutive frames that agreed (= the hysteresis when the change is made). */
  frames: number;
  /** Face counts of the frame that confirmed the change. */
  counts: FaceCounts;
}

/**
 * Debounced state: it changes only after `hysteresis` consecutive frames agree on a label other
 * than the current state. The first state is set the same way. A single odd frame resets the run,
 * so an alternating label never changes the state (no flicker).
 */
export class StateDebouncer {
  state: FrameLabel | null = null;
  private run: { label: FrameLabel; count: number; since: number; sinceFrame: number } | null = null;

  constructor(readonly hysteresis: number) {
    if (!Number.isInteger(hysteresis) || hysteresis < 1) throw new RangeError(`hysteresis must be an integer ≥ 1, got ${hysteresis}`);
  }

  /** Feed one frame's label; returns the change when this frame completes one. */
  push(label: FrameLabel, tsMs: number, frame: number, counts: FaceCounts): StateChange | null {
    if (label === this.state) {
      this.run = null;
      return null;
    }
    if (this.run && this.run.label === label) this.run.count++;
    else this.run = { label, count: 1, since: tsMs, sinceFrame: frame };
    if (this.run.count < this.hysteresis) return null;
    const change: StateChange = { state: label, previous: this.state, since: new Date(this.run.since).toISOString(), sinceFrame: this.run.sinceFrame, frames: this.run.count, counts };
    this.state = label;
    this.run = null;
    return change;
  }
}

export type PublishPolicy = { mode: 'every' } | { mode: 'rate'; maxHz: number } | { mode: 'change' };

/**
 * Per-frame publish gate. every: each frame; rate: at most maxHz (a frame is let through when at least
 * 1/maxHz s passed since the last one let through); change: only when `key` (e.g. label + face count)
 * differs from the last published one.
 */
export class PublishGate {
  private lastAt = -Infinity;
  private lastKey: string | null = null;

  constructor(readonly policy: PublishPolicy) {
    if (policy.mode === 'rate' && !(policy.maxHz > 0)) throw new RangeError(`maxHz must be > 0, got ${policy.maxHz}`);
  }

  offer(nowMs: number, key: string): boolean {
    const p = this.policy;
    let pass: boolean;
    if (p.mode === 'every') pass = true;
    else if (p.mode === 'rate') pass = nowMs - this.lastAt >= 1000 / p.maxHz;
    else pass = key !== this.lastKey;
    if (pass) {
      this.lastAt = nowMs;
      this.lastKey = key;
    }
    return pass;
  }
}
