// People counted per camera and verdict: since start, and over the last hour (a rolling 60 minutes in
// minute buckets). A person is counted once, when they leave, with their final verdict. Pure: time
// is passed in.

export type LabelCounts = { mask: number; no_mask: number };

export interface PeopleCountsReport {
  total: LabelCounts;
  hour: LabelCounts;
}

export class PeopleCounts {
  private total = new Map<string, LabelCounts>();
  /** Per camera: minute (ms since epoch / 60000) → counts. */
  private minutes = new Map<string, Map<number, LabelCounts>>();

  /** Count a person who left with `label` (other labels, e.g. null, are not counted). */
  add(camera: string, label: string | null, atMs: number): void {
    if (label !== 'mask' && label !== 'no_mask') return;
    const t = this.total.get(camera) ?? { mask: 0, no_mask: 0 };
    t[label]++;
    this.total.set(camera, t);
    const m = this.minutes.get(camera) ?? new Map<number, LabelCounts>();
    const k = Math.floor(atMs / 60000);
    const b = m.get(k) ?? { mask: 0, no_mask: 0 };
    b[label]++;
    m.set(k, b);
    this.minutes.set(camera, m);
  }

  /** Make sure a camera is listed (zeros) before anyone passed it. */
  camera(camera: string): void {
    if (!this.total.has(camera)) this.total.set(camera, { mask: 0, no_mask: 0 });
  }

  report(nowMs: number): Record<string, PeopleCountsReport> {
    const now = Math.floor(nowMs / 60000);
    const out: Record<string, PeopleCountsReport> = {};
    for (const [cam, total] of this.total) {
      const hour = { mask: 0, no_mask: 0 };
      const m = this.minutes.get(cam);
      if (m)
        for (const [k, b] of m) {
          if (k <= now - 60) m.delete(k);
          else {
            hour.mask += b.mask;
            hour.no_mask += b.no_mask;
          }
        }
      out[cam] = { total: { ...total }, hour };
    }
    return out;
  }
}
