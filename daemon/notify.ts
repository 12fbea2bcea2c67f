// sd_notify from Node. Node's dgram has no unix sockets, so the datagram goes through unix-dgram
// (a small native addon). Message building and the watchdog interval are pure and unit tested;
// NotifySocket is the thin sender. NOTIFY_SOCKET may be a path or an abstract name ("@...").
import { createRequire } from 'node:module';

export interface NotifyFields {
  ready?: boolean;
  stopping?: boolean;
  watchdog?: boolean;
  status?: string;
  mainPid?: number;
  /** EXTEND_TIMEOUT_USEC: the start (or stop) timeout is extended; the next message must come within this long (µs). */
  extendTimeoutUsec?: number;
}

/** The datagram text: one VAR=value per line (sd_notify(3)). STATUS is kept on one line. */
export function notifyMessage(f: NotifyFields): string {
  const lines: string[] = [];
  if (f.ready) lines.push('READY=1');
  if (f.stopping) lines.push('STOPPING=1');
  if (f.mainPid !== undefined) lines.push(`MAINPID=${f.mainPid}`);
  if (f.extendTimeoutUsec !== undefined) lines.push(`EXTEND_TIMEOUT_USEC=${Math.max(1, Math.round(f.extendTimeoutUsec))}`);
  if (f.status !== undefined) lines.push(`STATUS=${f.status.replace(/[\r\n]+/g, ' ').slice(0, 400)}`);
  if (f.watchdog) lines.push('WATCHDOG=1');
  return lines.join('\n');
}

/**
 * How often to send WATCHDOG=1: half of WATCHDOG_USEC (sd_watchdog_enabled(3)), or null when systemd
 * asked for no watchdog, or asked another process (WATCHDOG_PID set and not ours).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** The socket address unix-dgram takes: abstract names start with a NUL byte. */
export function socketAddress(notifySocket: string): string {
  return notifySocket.startsWith('@') ? `\0${notifySocket.slice(1)}` : notifySocket;
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
  close(): void;
}

/** Sends to NOTIFY_SOCKET; a no-op when it is not set (not started by systemd). */
export class Notifier {
  private sock: UnixDgramSocket | null = null;
  private readonly path: string | null;
  lastError: string | null = null;
  sent = 0;

  constructor(env: NodeJS.ProcessEnv) {
    this.path = env.NOTIFY_SOCKET ? socketAddress(env.NOTIFY_SOCKET) : null;
  }

  get enabled(): boolean {
    return this.path !== null;
  }

  send(f: NotifyFields): void {
    if (!this.path) return;
    const msg = Buffer.from(notifyMessage(f));
    if (!msg.length) return;
    try {
      if (!this.sock) {
        const require = createRequire(import.meta.url);
        const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
        this.sock = unix.createSocket('unix_dgram');
        this.sock.on('error', (e) => (this.lastError = e.message));
      }
      this.sock.send(msg, 0, msg.length, this.path, (err) => {
        if (err) this.lastError = err.message;
      });
      this.sent++;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}
