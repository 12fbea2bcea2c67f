// notify message building (pure) and the sender against a real unix datagram socket standing in for
// systemd's NOTIFY_SOCKET (a Python AF_UNIX/SOCK_DGRAM receiver run with /usr/bin/python3).
import t from 'tap';
import { existsSync } from 'node:fs';
import { Notifier, notifyMessage, socketAddress, watchdogIntervalMs } from '../../daemon/notify.js';
import { startNotifyReceiver } from '../helpers/notify-socket.js';

t.test('notify message text', async (t) => {
  t.equal(notifyMessage({ ready: true, status: 'running: 2 cameras' }), 'READY=1\nSTATUS=running: 2 cameras');
  t.equal(notifyMessage({ watchdog: true }), 'WATCHDOG=1');
  t.equal(notifyMessage({ stopping: true, status: 'stopping' }), 'STOPPING=1\nSTATUS=stopping');
  t.equal(notifyMessage({ status: 'a\nb\r\nc' }), 'STATUS=a b c', 'STATUS stays on one line');
  t.equal(notifyMessage({}), '');
  t.equal(notifyMessage({ mainPid: 42 }), 'MAINPID=42');
});

t.test('watchdog interval: half of WATCHDOG_USEC, only for this pid', async (t) => {
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }, 7), 5000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, 7), 5000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '8' }, 7), null, 'meant for another process');
  t.equal(watchdogIntervalMs({}, 7), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 7), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 7), null);
});

t.test('abstract socket names', async (t) => {
  t.equal(socketAddress('@foo'), '\0foo');
  t.equal(socketAddress('/run/systemd/notify'), '/run/systemd/notify');
});

t.test('without NOTIFY_SOCKET the notifier is a no-op', async (t) => {
  const n = new Notifier({});
  t.equal(n.enabled, false);
  n.send({ ready: true });
  t.equal(n.sent, 0);
});

t.test('datagrams reach a real AF_UNIX/SOCK_DGRAM receiver', async (t) => {
  const rx = await startNotifyReceiver();
  t.teardown(() => rx.stop());
  const n = new Notifier({ NOTIFY_SOCKET: rx.path });
  n.send({ ready: true, status: 'ready' });
  n.send({ watchdog: true });
  n.send({ stopping: true });
  await rx.waitFor((m) => m.text.includes('STOPPING=1'), 5000);
  n.close();
  t.same(rx.messages.map((m) => m.text), ['READY=1\nSTATUS=ready', 'WATCHDOG=1', 'STOPPING=1']);
  t.equal(n.lastError, null);
  t.ok(existsSync(rx.path));
});
