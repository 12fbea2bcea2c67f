import t from 'tap';
import { createLogger } from '../../daemon/log.js';

t.test('JSON lines with level filtering and bindings', async (t) => {
  const lines: string[] = [];
  const log = createLogger('info', (l) => lines.push(l)).child({ part: 'mqtt' });
  log.debug('hidden');
  log.info('connected', { url: 'mqtt://127.0.0.1:1883' });
  t.equal(lines.length, 1);
  const r = JSON.parse(lines[0]);
  t.same([r.level, r.part, r.msg, r.url], ['info', 'mqtt', 'connected', 'mqtt://127.0.0.1:1883']);
});

t.test('secrets never reach the log', async (t) => {
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l));
  log.warn('x', { password: 'hunter2', mqtt: { token: 'tok-123', username: 'edge' }, url: 'rtsp://admin:camsecret@10.0.0.2/cam1', err: new Error('mqtts://ops:brokerpw@h:8883 refused') });
  const text = lines.join('');
  t.notMatch(text, /hunter2|tok-123|camsecret|brokerpw/);
  const r = JSON.parse(text);
  t.equal(r.password, '********');
  t.equal(r.mqtt.username, 'edge');
  t.equal(r.url, 'rtsp://admin:****@10.0.0.2/cam1');
  t.match(r.err, 'mqtts://ops:****@h:8883 refused');
});
