import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
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
  t.same(JSON.parse(readFileSync(file, 'utf8')).version, 1);
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
