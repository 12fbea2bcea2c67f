// A decoder dies with its supervisor (D160). The daemon's camera is a TCP server that accepts and
// never answers, so its ffmpeg sits in the camera's open (rtspTimeoutSec 300): nothing it writes can
// fail and end it (no FIFO write yet, no SIGPIPE). The daemon is SIGKILLed: the ffmpeg goes with it,
// within seconds, not at its 300 s timeout.
import t from 'tap';
import net from 'node:net';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startDaemon, writeConfig } from '../helpers/daemon.js';
import { ended, findProcs, waitEnded } from '../helpers/proc.js';

t.test('the daemon SIGKILLed while its ffmpeg waits on a silent camera: the ffmpeg goes too', async (t) => {
  const sockets: net.Socket[] = [];
  let connected!: () => void;
  const firstConnection = new Promise<void>((r) => (connected = r));
  const silent = net.createServer((s) => {
    sockets.push(s);
    connected();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    sockets.forEach((s) => s.destroy());
    silent.close();
  });
  const port = (silent.address() as net.AddressInfo).port;
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const url = `rtsp://127.0.0.1:${port}/cam1`;
  const cfg = writeConfig(t, {
    deviceId: 'orphans',
    mqtt: { url: broker.url },
    cameras: [{ id: 'cam1', url, fps: 5 }],
    source: { rtspTimeoutSec: 300 },
    http: { port: 0 },
  });
  const daemon = startDaemon(t, cfg);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([firstConnection, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`ffmpeg never connected:\n${daemon.output().slice(-2000)}`)), 30000)))]);
  clearTimeout(timer);
  const pids = findProcs('ffmpeg', url);
  t.equal(pids.length, 1, 'one ffmpeg waits on the silent camera');
  t.teardown(() => pids.forEach((p) => ended(p) || process.kill(p, 'SIGKILL')));
  daemon.proc.kill('SIGKILL');
  await daemon.exited();
  t.ok(await waitEnded(pids[0], 10000), 'the ffmpeg ended with the daemon');
});
