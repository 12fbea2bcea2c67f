/* A stand-in for systemd's NOTIFY_SOCKET: notify_receiver.py (run with /usr/bin/python3) binds an
 * AF_UNIX/SOCK_DGRAM socket and reports each datagram with its arrival time. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied, terminate, Tail } from './proc.js';
import { PYTHON } from './rtsp.js';

export interface NotifyMsg {
  /** Arrival time, ms since epoch. */
  at: number;
  text: string;
}

export interface NotifyReceiver {
  path: string;
  messages: NotifyMsg[];
  waitFor(pred: (m: NotifyMsg) => boolean, timeoutMs: number, fromIndex?: number): Promise<NotifyMsg>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./notify_receiver.py', import.meta.url));

/** Binds a socket in a fresh folder under the system tmp dir (AF_UNIX paths are limited to 108 bytes). */
export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  const path = join(dir, 'notify.sock');
  const proc = spawnTied(PYTHON, [SCRIPT, path]);
  const err = new Tail();
  proc.stderr.on('data', (c: Buffer) => err.push(c));
  const messages: NotifyMsg[] = [];
  let partial = '';
  let listening: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const m = JSON.parse(l) as { t: number; text: string };
      if (m.text === '#listening') listening();
      else messages.push({ at: Math.round(m.t * 1000), text: m.text });
    }
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
  try {
    await Promise.race([ready, new Promise((_, rej) => proc.once('exit', () => rej(new Error(`notify receiver exited: ${err}`))))]);
  } finally {
    clearTimeout(timer);
  }
  return {
    path,
    messages,
    async waitFor(pred, timeoutMs, fromIndex = 0) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = messages.slice(fromIndex).find(pred);
        if (m) return m;
        if (Date.now() > end) throw new Error(`no matching notify message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-10))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await terminate(proc, 1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
