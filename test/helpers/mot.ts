// Tracking metrics against ground truth (CLEAR MOT style), pure: per frame, ground-truth faces are
// matched to the reported faces by IoU (greedy, highest first); misses (FN), false positives (FP) and
// identity switches (a ground-truth person matched to another track id than last time) give
// MOTA = 1 - (FN + FP + IDSW) / ground-truth faces. A reported face on a hidden (not visible)
// ground-truth face is neither a hit nor a false positive.
import { boxIou, type Box } from '../../pipelines/tracking/associate.js';

export interface GtFace { id: number; box: Box; visible: boolean }
export interface OutFace { box: Box; track: number }

export class MotCounter {
  gt = 0;
  fn = 0;
  fp = 0;
  idsw = 0;
  matches = 0;
  private last = new Map<number, number>();
  /** Per track id: ground-truth id → frames matched. */
  readonly trackToGt = new Map<number, Map<number, number>>();

  frame(gt: readonly GtFace[], out: readonly OutFace[], minIou = 0.4): Map<number, number> {
    const pairs: { g: number; o: number; iou: number }[] = [];
    gt.forEach((g, gi) => out.forEach((o, oi) => {
      const v = boxIou(g.box, o.box);
      if (v >= minIou) pairs.push({ g: gi, o: oi, iou: v });
    }));
    pairs.sort((a, b) => b.iou - a.iou);
    const gDone = new Set<number>(), oDone = new Set<number>();
    const matched = new Map<number, number>(); // gt id → track
    for (const p of pairs) {
      if (gDone.has(p.g) || oDone.has(p.o)) continue;
      gDone.add(p.g);
      oDone.add(p.o);
      const g = gt[p.g], o = out[p.o];
      if (!g.visible) continue; // a hidden face found: neither hit nor FP
      matched.set(g.id, o.track);
      const m = this.trackToGt.get(o.track) ?? new Map<number, number>();
      m.set(g.id, (m.get(g.id) ?? 0) + 1);
      this.trackToGt.set(o.track, m);
    }
    for (const g of gt) {
      if (!g.visible) continue;
      this.gt++;
      const tr = matched.get(g.id);
      if (tr === undefined) {
        this.fn++;
        continue;
      }
      this.matches++;
      const prev = this.last.get(g.id);
      if (prev !== undefined && prev !== tr) this.idsw++;
      this.last.set(g.id, tr);
    }
    this.fp += out.filter((_, i) => !oDone.has(i)).length;
    return matched;
  }

  /** The ground-truth person a track followed most. */
  gtOf(track: number): number | undefined {
    const m = this.trackToGt.get(track);
    if (!m) return undefined;
    return [...m].sort((a, b) => b[1] - a[1])[0][0];
  }

  get mota(): number {
    return this.gt ? 1 - (this.fn + this.fp + this.idsw) / this.gt : 0;
  }
}
