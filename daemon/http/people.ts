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
  /** Per camera, people whose events said "snapshot" and who have none yet, oldest first. */
  private awaiting = new Map<string, string[]>();
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
      q.push(e.person);
      this.awaiting.set(e.camera, q);
    }
    return row;
  }

  /**
   * A snapshot JPEG of a camera. The topic carries only the picture, so unless the publisher names the
   * person (`person`), it is matched by order: the oldest person of that camera whose event said
   * "snapshot" and who has none yet (issue 14 publishes a person's first event with `snapshot: true`
   * when it starts encoding that snapshot, and the JPEG right after). A picture with nobody waiting is
   * a better crop of someone already shown, but of whom is not said: it is not shown rather than shown
   * on the wrong person. Returns the row it went to, if any.
   */
  snapshot(camera: string, jpeg: Buffer, person?: string): PersonRow | null {
    const named = person === undefined ? undefined : this.rows.find((r) => r.person === person);
    const q = this.awaiting.get(camera) ?? [];
    let row = named;
    while (!row && q.length) {
      const next = q.shift();
      row = this.rows.find((r) => r.person === next); // undefined: gone from the list meanwhile
    }
    if (!row) return null;
    if (named && q.includes(named.person)) q.splice(q.indexOf(named.person), 1);
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
