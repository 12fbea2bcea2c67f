import t from 'tap';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox } from '../../daemon/mqtt/outbox.js';

const e = (topic: string, payload: string, coalesce = false) => ({ topic, payload, at: 1, coalesce });

t.test('first in, first out; ack removes the head', async (t) => {
  const o = new Outbox({ max: 10, file: null });
  o.push(e('a', '1'));
  o.push(e('b', '2'));
  t.equal(o.size, 2);
  const head = o.peek()!;
  t.equal(head.payload, '1');
  o.ack(head);
  t.equal(o.peek()!.payload, '2');
  o.ack(o.peek()!);
  t.equal(o.size, 0);
  t.equal(o.peek(), undefined);
});

t.test('bounded: the oldest entries are dropped and counted', async (t) => {
  const o = new Outbox({ max: 3, file: null });
  for (let i = 0; i < 5; i++) o.push(e('s', String(i)));
  t.equal(o.size, 3);
  t.equal(o.dropped, 2);
  t.same(o.all().map((x) => x.payload), ['2', '3', '4']);
});

t.test('coalesce replaces the queued entry for the same topic in place', async (t) => {
  const o = new Outbox({ max: 10, file: null });
  o.push(e('h', 'old', true));
  o.push(e('s', 'event'));
  o.push(e('h', 'new', true));
  t.same(o.all().map((x) => x.payload), ['new', 'event']);
  o.push(e('s', 'event2'));
  t.equal(o.size, 3, 'non-coalesced events are all kept');
});

t.test('ack of an entry that was replaced meanwhile does not remove the newer one', async (t) => {
  const o = new Outbox({ max: 10, file: null });
  o.push(e('h', 'old', true));
  const inFlight = o.peek()!;
  o.push(e('h', 'new', true));
  o.ack(inFlight);
  t.same(o.all().map((x) => x.payload), ['new']);
});

t.test('persisted: a new outbox on the same file has the same queue', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'sub', 'outbox.json');
  const a = new Outbox({ max: 2, file });
  a.push(e('s', '1'));
  a.push(e('s', '2'));
  a.push(e('s', '3'));
  const b = new Outbox({ max: 2, file });
  t.same(b.all().map((x) => x.payload), ['2', '3']);
  t.equal(b.dropped, 1);
  b.ack(b.peek()!);
  t.same(new Outbox({ max: 2, file }).all().map((x) => x.payload), ['3']);
  t.same(JSON.parse(readFileSync(file, 'utf8').split('\n')[0]).version, 2, 'a journal (D169)');
  t.equal(new Outbox({ max: 1, file }).size, 1, 'a smaller max trims on load');
});

t.test('a corrupt file is ignored with a reason, not fatal', async (t) => {
  const dir = t.testdir({ 'outbox.json': '{"entries": [' });
  const o = new Outbox({ max: 5, file: join(dir, 'outbox.json') });
  t.equal(o.size, 0);
  t.match(o.lastError, /ignored unreadable outbox/);
  o.push(e('s', 'x'));
  t.equal(new Outbox({ max: 5, file: join(dir, 'outbox.json') }).size, 1, 'and it is overwritten by the next save');
  writeFileSync(join(dir, 'outbox.json'), '{"entries":[{"topic":1},{"topic":"a","payload":"b","at":1}]}');
  t.equal(new Outbox({ max: 5, file: join(dir, 'outbox.json') }).size, 1, 'malformed entries are skipped');
});

t.test('the file is a journal: one short line a change, the whole queue now and then (D169)', async (t) => {
  const file = join(t.testdir({}), 'outbox.json');
  const o = new Outbox({ max: 1000, file });
  const big = (i: number) => e('site/door/mask/events', JSON.stringify({ type: 'leave', n: i, pad: 'x'.repeat(300) }));
  o.push(e('site/door/mask/snapshot', 'A'.repeat(80_000), true)); // a snapshot, base64: stays queued
  t.same(o.written, { appends: 0, whole: 1, bytes: o.written.bytes }, 'the first change after start writes the queue whole');
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  o.push(big(0));
  t.same([o.written.appends, o.written.whole, lines()], [1, 1, 3], 'the next is one appended line');
  // a broker outage fills the queue, then the broker acknowledges every event
  for (let i = 1; i < 999; i++) o.push(big(i));
  while (o.size > 1) o.ack(o.all()[1]);
  t.equal(o.size, 1);
  const perEvent = o.written.bytes / 1998;
  t.ok(perEvent < 2000, `${Math.round(perEvent)} bytes written a change on average (a rewrite of the whole queue was up to ≈ 440 KB here)`);
  t.ok(o.written.whole < 40, `${o.written.whole} whole writes in ${o.written.appends + o.written.whole} changes`);
  t.same(new Outbox({ max: 1000, file }).all().map((x) => x.topic), ['site/door/mask/snapshot'], 'the journal replays to the same queue');
});

t.test('replaying the journal gives the queue the outbox had, whatever the changes', async (t) => {
  let seed = 3;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (const max of [1, 3, 50]) {
    const file = join(t.testdir({}), 'outbox.json');
    const o = new Outbox({ max, file });
    for (let step = 0; step < 600; step++) {
      const r = rand(10);
      if (r < 5) o.push(e(`t${rand(4)}`, `p${step}`));
      else if (r < 7) o.push(e(`h${rand(2)}`, `c${step}`, true));
      else if (o.size) o.ack(o.all()[rand(o.size)]);
      if (step % 37 === 0) {
        const again = new Outbox({ max, file });
        t.same(again.all().map((x) => x.payload), o.all().map((x) => x.payload), `max ${max}, step ${step}`);
        t.equal(again.dropped, o.dropped, 'and the same count of dropped events');
      }
    }
  }
});

t.test('a line cut short by a crash is skipped, with a reason; the old whole-file format still loads', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'outbox.json');
  const o = new Outbox({ max: 10, file });
  o.push(e('s', '1'));
  o.push(e('s', '2'));
  writeFileSync(file, readFileSync(file, 'utf8') + '{"push":{"topic":"s","payl');
  const b = new Outbox({ max: 10, file });
  t.same(b.all().map((x) => x.payload), ['1', '2']);
  t.match(b.lastError, /skipped 1 unreadable line/);
  b.ack(b.peek()!);
  t.same(new Outbox({ max: 10, file }).all().map((x) => x.payload), ['2'], 'and the next change writes it whole again');
  rmSync(file); // removed under a running outbox: its next changes start a journal without a header
  b.push(e('s', '3'));
  b.push(e('s', '4'));
  t.same(new Outbox({ max: 10, file }).all().map((x) => x.payload), ['3', '4'], 'the lines written after it still load');
  writeFileSync(file, JSON.stringify({ version: 1, dropped: 4, entries: [{ topic: 'a', payload: 'x', at: 1 }, { topic: 'b', payload: 'y', at: 2 }] }));
  const v1 = new Outbox({ max: 10, file });
  t.same([v1.all().map((x) => x.payload), v1.dropped], [['x', 'y'], 4], 'a version 1 file (before the journal)');
  v1.ack(v1.peek()!);
  t.same(new Outbox({ max: 10, file }).all().map((x) => x.payload), ['y'], 'rewritten as a journal by its first change');
});
