import t from 'tap';
import { shouldEncode, previewPage } from '../../daemon/http/preview.js';

t.test('encode only with a watcher, not while busy, at most fps', async (t) => {
  t.equal(shouldEncode({ watchers: 0, busy: false, lastAt: 0 }, 10_000, 2), false, 'nobody watches');
  t.equal(shouldEncode({ watchers: 1, busy: true, lastAt: 0 }, 10_000, 2), false, 'previous encode still running');
  t.equal(shouldEncode({ watchers: 1, busy: false, lastAt: 9_700 }, 10_000, 2), false, 'too soon for 2 fps');
  t.equal(shouldEncode({ watchers: 1, busy: false, lastAt: 9_500 }, 10_000, 2), true);
  t.equal(shouldEncode({ watchers: 3, busy: false, lastAt: 0 }, 10_000, 0.5), true);
});

t.test('the page shows one stream per camera, names escaped', async (t) => {
  const html = previewPage(['cam1', 'door<2>']);
  t.match(html, '<img src="/preview/cam1.mjpeg"');
  t.match(html, '/preview/door%3C2%3E.mjpeg');
  t.notMatch(html, 'door<2>');
  t.match(previewPage([]), 'no cameras');
});
