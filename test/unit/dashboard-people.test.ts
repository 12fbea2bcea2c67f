// The dashboard's memory of people: rows, snapshots in either order, today's counts (pure).
import t from 'tap';
import sharp from 'sharp';
import { People, isPersonEvent, jpegSize, localDay, matchSnapshot, type PersonEvent } from '../../daemon/http/people.js';

const at = (h: number, m = 0) => new Date(2026, 11, 2, h, m).toISOString();
const ev = (o: Partial<PersonEvent>): PersonEvent => ({ type: 'enter', camera: 'door', track: 1, person: 'door:1:1', at: at(10), label: null, score: null, box: [0, 0, 10, 10], readings: 0, snapshot: false, ...o });

t.test('isPersonEvent takes the BOARD shape and refuses others', async (t) => {
  t.ok(isPersonEvent(ev({})));
  t.ok(isPersonEvent(ev({ type: 'leave', label: 'no_mask', score: 0.9, durationMs: 3000 })));
  t.notOk(isPersonEvent({ ...ev({}), type: 'walk' }));
  t.notOk(isPersonEvent({ ...ev({}), at: 'yesterday' }));
  t.notOk(isPersonEvent({ ...ev({}), label: 'maybe' }));
  t.notOk(isPersonEvent(null));
  t.notOk(isPersonEvent('{"type":"enter"}'));
});

t.test('rows: one per person, newest first, bounded; enter → verdict → leave', async (t) => {
  const p = new People(2, () => new Date(2026, 11, 2, 12));
  p.event(ev({ person: 'a', track: 1 }));
  p.event(ev({ person: 'a', type: 'verdict', label: 'mask', score: 0.97, readings: 3 }));
  p.event(ev({ person: 'b', track: 2 }));
  t.same(p.list().map((r) => r.person), ['b', 'a']);
  t.match(p.list()[1], { label: 'mask', score: 0.97, readings: 3, present: true });
  p.event(ev({ person: 'a', type: 'leave', label: 'mask', score: 0.97, durationMs: 4200 }));
  t.match(p.list()[1], { present: false, durationMs: 4200 });
  p.event(ev({ person: 'c', track: 3 }));
  t.same(p.list().map((r) => r.person), ['c', 'b'], 'the oldest row goes');
});

t.test('snapshots go to their person: by order of the events that announced them, or by name', async (t) => {
  const p = new People(10, () => new Date(2026, 11, 2, 12));
  const img = (r: { snapshotId: number | null } | undefined) => (r?.snapshotId == null ? undefined : p.image(r.snapshotId)?.toString());
  const row = (person: string) => p.list().find((r) => r.person === person);
  // the event says a snapshot is coming, then it comes
  p.event(ev({ person: 'a', type: 'verdict', label: 'no_mask', score: 0.9, snapshot: true }));
  t.equal(p.snapshot('door', Buffer.from('jpeg-a'))?.person, 'a');
  t.equal(img(row('a')), 'jpeg-a');
  // several unmasked people at once: their events first, then their snapshots in the same order
  for (const x of ['x', 'y', 'z']) p.event(ev({ person: x, type: 'verdict', label: 'no_mask', score: 0.9, snapshot: true }));
  p.event(ev({ person: 'x', type: 'leave', label: 'no_mask', score: 0.9, snapshot: true })); // still true: not a second announcement
  for (const x of ['x', 'y', 'z']) p.snapshot('door', Buffer.from(`jpeg-${x}`));
  for (const x of ['x', 'y', 'z']) t.equal(img(row(x)), `jpeg-${x}`, `${x} got its own snapshot`);
  // a picture nobody is waiting for (a better crop of someone, not said whom) is not shown on anyone
  t.equal(p.snapshot('door', Buffer.from('jpeg-better')), null);
  t.same(['a', 'x', 'y', 'z'].map((x) => img(row(x))), ['jpeg-a', 'jpeg-x', 'jpeg-y', 'jpeg-z']);
  // nor one from a camera whose people announced nothing
  t.equal(p.snapshot('hall', Buffer.from('jpeg-hall')), null);
  // a publisher that names the person decides, and the older picture is not kept
  const old = row('x')!.snapshotId!;
  p.snapshot('door', Buffer.from('jpeg-x2'), 'x');
  t.equal(img(row('x')), 'jpeg-x2');
  t.equal(p.image(old), undefined);
  // a masked person without snapshot gets none
  const c = p.event(ev({ person: 'c', type: 'verdict', label: 'mask', score: 0.9 }));
  t.equal(c.snapshotId, null);
  t.equal(c.snapshot, false);
});

const jpeg = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#808080' } }).jpeg().toBuffer();

t.test('jpegSize reads the start-of-frame marker; matchSnapshot picks the face by shape and size', async (t) => {
  t.same(jpegSize(await jpeg(123, 45)), { width: 123, height: 45 });
  t.same(jpegSize(await sharp({ create: { width: 30, height: 20, channels: 3, background: '#000' } }).jpeg({ progressive: true }).toBuffer()), { width: 30, height: 20 }, 'progressive too');
  t.equal(jpegSize(Buffer.from('not a jpeg')), null);
  t.equal(jpegSize(Buffer.from([0xff, 0xd8, 0xff])), null, 'truncated');
  const boxes = [[0, 0, 100, 130], [0, 0, 50, 60], [0, 0, 200, 200]];
  t.equal(matchSnapshot({ width: 200, height: 260 }, boxes, Math.log(2)), 0);
  t.equal(matchSnapshot({ width: 100, height: 120 }, boxes, Math.log(2)), 1);
  t.equal(matchSnapshot({ width: 400, height: 400 }, boxes, Math.log(2)), 2);
  t.equal(matchSnapshot({ width: 100, height: 100 }, boxes, Math.log(0.5)), 2, 'the learnt scale counts');
  t.equal(matchSnapshot({ width: 10, height: 10 }, [], 0), -1);
});

t.test('pictures of several people of one frame, arriving in any order, go to their own person', async (t) => {
  const p = new People(10, () => new Date(2026, 11, 2, 12));
  const faces: Record<string, [number, number, number, number]> = { p1: [600, 100, 170, 250], p2: [380, 160, 200, 240], p3: [1010, 240, 100, 130], p4: [130, 210, 84, 112] };
  for (const [person, box] of Object.entries(faces)) p.event(ev({ person, type: 'verdict', label: 'no_mask', score: 0.9, box, snapshot: true }));
  const pictures = Object.fromEntries(await Promise.all(Object.entries(faces).map(async ([person, b]) => [person, await jpeg(b[2] * 2, b[3] * 2)])));
  for (const person of ['p3', 'p4', 'p1', 'p2']) p.snapshot('door', pictures[person]); // smallest encodes finish first
  for (const person of Object.keys(faces)) {
    const r = p.list().find((x) => x.person === person)!;
    t.same(jpegSize(p.image(r.snapshotId!)!), { width: faces[person][2] * 2, height: faces[person][3] * 2 }, `${person} has its own picture`);
  }
});

t.test("today's counts: a person once, under their latest label; other days and new days", async (t) => {
  let now = new Date(2026, 11, 2, 12);
  const p = new People(30, () => now);
  t.same(p.counts(['door', 'hall']), { day: '2026-12-02', cameras: { door: { mask: 0, no_mask: 0 }, hall: { mask: 0, no_mask: 0 } } });
  p.event(ev({ person: 'a', type: 'verdict', label: 'mask', score: 0.9 }));
  p.event(ev({ person: 'a', type: 'leave', label: 'mask', score: 0.9 }));
  p.event(ev({ person: 'b', type: 'verdict', label: 'mask', score: 0.9 }));
  p.event(ev({ person: 'b', type: 'verdict', label: 'no_mask', score: 0.8 }));
  p.event(ev({ person: 'c', camera: 'hall', type: 'verdict', label: 'no_mask', score: 0.8 }));
  p.event(ev({ person: 'd', type: 'enter' }));
  p.event(ev({ person: 'e', type: 'verdict', label: 'mask', score: 0.9, at: new Date(2026, 11, 1, 23).toISOString() }));
  t.same(p.counts(['door']).cameras, { door: { mask: 1, no_mask: 1 }, hall: { mask: 0, no_mask: 1 } }, 'a: mask; b: changed to no_mask; d: no verdict yet; e: yesterday');
  now = new Date(2026, 11, 3, 0, 1);
  t.same(p.counts(['door']), { day: '2026-12-03', cameras: { door: { mask: 0, no_mask: 0 } } }, 'a new day starts at zero');
  t.equal(localDay(new Date(2026, 0, 5, 23, 59)), '2026-01-05');
});
