// The dashboard's memory of people (pure, no I/O): the latest people events of every camera (from
// {site}/{camera}/mask/events, BOARD contract of issue 14), the snapshot JPEGs that go with them
// ({site}/{camera}/mask/snapshot) and today's counts. Everything it holds came from what the daemon
// published, so it follows the privacy setting by construction: no snapshot published, none shown.

export interface PersonEvent {
  type: 'enter' | 'verdict' | 'leave';
  camera: string;
  track: number;
  person: string;
  at: string;
  label: 'mask' | 'no_mask' | null;
  score: number | null;
  box?: [number, number, number, number];
  readings?: number;
  durationMs?: number;
  snapshot?: boolean;
}

export interface PersonRow {
  person: string;
  camera: string;
  track: number;
  label: 'mask' | 'no_mask' | null;
  score: number | null;
  firstAt: string;
  lastAt: string;
  /** Still in view (no leave event yet). */
  present: boolean;
  durationMs: number | null;
  readings: number;
  /** A snapshot was published for this person (event flag). */
  snapshot: boolean;
  /** Id of the snapshot image held here (GET /api/snapshot/{id}.jpg), null while none arrived. */
  snapshotId: number | null;
}

export interface Counts {
  /** Local calendar day (YYYY-MM-DD) the counts are for. */
  day: string;
  cameras: Record<string, { mask: number; no_mask: number }>;
}

/** Width and height of a JPEG from its start-of-frame marker; null when it is not a JPEG. Pure. */
export function jpegSize(b: Buffer): { width: number; height: number } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}

/**
 * Which of the waiting faces (boxes [x, y, w, h]) a snapshot picture of `size` shows: the one whose box
 * has the picture's shape and, scaled by `scale` (ln of picture size over box size, learnt from earlier
 * matches; a snapshot shows the face with context around it), its size. Index, or -1 with none. Pure.
 */
export function matchSnapshot(size: { width: number; height: number }, boxes: readonly (readonly number[])[], scale: number): number {
  let best = -1;
  let bestScore = Infinity;
  boxes.forEach((box, i) => {
    if (!(box[2] > 0 && box[3] > 0)) return;
    const a = Math.log(size.width / box[2]);
    const b = Math.log(size.height / box[3]);
    const score = Math.abs(a - b) + Math.abs((a + b) / 2 - scale);
    if (score < bestScore) [best, bestScore] = [i, score];
  });
  return best;
}

/** Local calendar day of a time, YYYY-MM-DD. */
export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Is a parsed JSON value a people event (the fields the dashboard relies on)? */
export function isPersonEvent(v: unknown): v is PersonEvent {
  const e = v as PersonEvent;
  return (
    typeof v === 'object' && v !== null &&
    (e.type === 'enter' || e.type === 'verdict' || e.type === 'leave') &&
    typeof e.camera === 'string' && typeof e.person === 'string' && typeof e.track === 'number' &&
    typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at)) &&
    (e.label === null || e.label === 'mask' || e.label === 'no_mask' || e.label === undefined)
  );
}

/**
 * Rows (newest first, at most `max`), snapshots and today's counts. A person counts once a day, under
 * the latest label an event gave them (a person first read as masked who pulls the mask down counts
 * as unmasked): the same rule anyone can apply to the events topic.
 */
export class People {
  private rows: PersonRow[] = [];
  private images = new Map<number, Buffer>();
  /** Per camera, people whose events said "snapshot" and who have none yet, oldest first, with their best face's box. */
  private awaiting = new Map<string, { person: string; box: readonly number[] }[]>();
  /** Per camera, ln(snapshot size / face box size) of the pictures matched so far (the latest few). */
  private scales = new Map<string, number[]>();
  private nextId = 1;
  private day = '';
  /** Today's verdicts: camera → person → label. */
  private today = new Map<string, Map<string, 'mask' | 'no_mask'>>();

  constructor(
    private readonly max = 30,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Take one event; returns the row it changed. */
  event(e: PersonEvent): PersonRow {
    let row = this.rows.find((r) => r.person === e.person);
    if (!row) {
      row = { person: e.person, camera: e.camera, track: e.track, label: null, score: null, firstAt: e.at, lastAt: e.at, present: true, durationMs: null, readings: 0, snapshot: false, snapshotId: null };
      this.rows.unshift(row);
      for (const old of this.rows.splice(this.max)) if (old.snapshotId !== null) this.images.delete(old.snapshotId);
    }
    row.lastAt = e.at;
    if (e.label) {
      row.label = e.label;
      row.score = e.score ?? null;
      this.count(e.camera, e.person, e.label, new Date(e.at));
    }
    if (typeof e.readings === 'number') row.readings = e.readings;
    if (e.type === 'leave') {
      row.present = false;
      row.durationMs = e.durationMs ?? null;
    }
    if (e.snapshot && !row.snapshot) {
      // the first event that says so: this person's first snapshot is on its way
      row.snapshot = true;
      const q = this.awaiting.get(e.camera) ?? [];
      q.push({ person: e.person, box: e.box ?? [0, 0, 0, 0] });
      this.awaiting.set(e.camera, q);
    }
    return row;
  }

  /**
   * A snapshot JPEG of a camera. The topic carries only the picture; unless the publisher names the
   * person (`person`), it goes to one of the people of that camera whose first event with
   * `snapshot: true` is not answered yet: the one whose face box (the event's best face) has the
   * picture's shape and size (matchSnapshot; several pictures of one frame are encoded in parallel and
   * may arrive in any order). A picture nobody waits for is a better crop of someone already shown,
   * but the topic does not say whose: it is not shown rather than shown on the wrong person.
   * Returns the row it went to, if any.
   */
  snapshot(camera: string, jpeg: Buffer, person?: string): PersonRow | null {
    const q = (this.awaiting.get(camera) ?? []).filter((w) => this.rows.some((r) => r.person === w.person)); // people gone from the list
    this.awaiting.set(camera, q);
    let name = person;
    if (name === undefined && q.length) {
      const size = jpegSize(jpeg);
      const scales = this.scales.get(camera) ?? [];
      const scale = scales.length ? [...scales].sort((a, b) => a - b)[scales.length >> 1] : Math.log(2);
      const i = size ? matchSnapshot(size, q.map((w) => w.box), scale) : 0;
      name = q[Math.max(0, i)].person;
      const box = q[Math.max(0, i)].box;
      if (size && box[2] > 0 && box[3] > 0) this.scales.set(camera, [...scales, (Math.log(size.width / box[2]) + Math.log(size.height / box[3])) / 2].slice(-15));
    }
    const row = name === undefined ? undefined : this.rows.find((r) => r.person === name);
    if (!row) return null;
    const k = q.findIndex((w) => w.person === row.person);
    if (k >= 0) q.splice(k, 1);
    if (row.snapshotId !== null) this.images.delete(row.snapshotId);
    const id = this.nextId++;
    this.images.set(id, jpeg);
    row.snapshotId = id;
    row.snapshot = true;
    return row;
  }

  image(id: number): Buffer | undefined {
    return this.images.get(id);
  }

  list(): readonly PersonRow[] {
    return this.rows;
  }

  counts(cameras: readonly string[] = []): Counts {
    this.roll(this.now());
    const out: Counts = { day: this.day, cameras: {} };
    for (const c of cameras) out.cameras[c] = { mask: 0, no_mask: 0 };
    for (const [camera, people] of this.today) {
      const n = (out.cameras[camera] ??= { mask: 0, no_mask: 0 });
      for (const label of people.values()) n[label]++;
    }
    return out;
  }

  private roll(at: Date): void {
    const d = localDay(at);
    if (d > this.day) {
      this.day = d;
      this.today.clear();
    }
  }

  private count(camera: string, person: string, label: 'mask' | 'no_mask', at: Date): void {
    this.roll(this.now());
    if (localDay(at) !== this.day) return; // an event from another day (clock change, replay)
    let m = this.today.get(camera);
    if (!m) this.today.set(camera, (m = new Map()));
    m.set(person, label);
  }
}
