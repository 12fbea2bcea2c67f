import t from 'tap';
import { Lifecycle } from '../../daemon/lifecycle.js';

const quiet = { error: () => undefined, debug: () => undefined };

t.test('parts start in order and stop in reverse', async (t) => {
  const events: string[] = [];
  const life = new Lifecycle(quiet);
  for (const name of ['broker', 'mqtt', 'engine', 'pipeline']) {
    const part = await life.add(name, () => (events.push(`start ${name}`), { name }), (p) => void events.push(`stop ${p.name}`));
    t.equal(part.name, name, 'add returns the started part');
  }
  t.same(life.names, ['broker', 'mqtt', 'engine', 'pipeline']);
  await life.stop();
  t.same(events, ['start broker', 'start mqtt', 'start engine', 'start pipeline', 'stop pipeline', 'stop engine', 'stop mqtt', 'stop broker']);
  t.same(life.names, []);
  await life.stop();
  t.equal(events.length, 8, 'a second stop stops nothing twice');
});

t.test('a failed start stops what already started, in reverse, and rethrows', async (t) => {
  const events: string[] = [];
  const life = new Lifecycle(quiet);
  await life.add('mqtt', async () => events.push('start mqtt'), async () => void events.push('stop mqtt'));
  await life.add('engine', () => events.push('start engine'), () => void events.push('stop engine'));
  await t.rejects(
    life.add('pipeline', async () => {
      throw new Error('camera config broken');
    }, () => void events.push('stop pipeline')),
    { message: 'camera config broken' },
  );
  t.same(events, ['start mqtt', 'start engine', 'stop engine', 'stop mqtt'], 'the failed part is not stopped; the others are, last first');
  await t.rejects(life.add('late', () => 1, () => undefined), /stopping/, 'nothing starts after a teardown');
});

t.test('a part that fails to stop does not keep the others running', async (t) => {
  const events: string[] = [];
  const errors: string[] = [];
  const life = new Lifecycle({ error: (m, f) => errors.push(`${m} ${f?.part}`), debug: () => undefined });
  await life.add('a', () => 1, () => void events.push('stop a'));
  await life.add('b', () => 2, () => {
    throw new Error('stuck');
  });
  await life.add('c', () => 3, () => void events.push('stop c'));
  await life.stop();
  t.same(events, ['stop c', 'stop a']);
  t.same(errors, ['stop failed b']);
});
