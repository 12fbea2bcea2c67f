/**
 * A real RTSP server for tests: GStreamer's RTSP server (rtsp_server.py, run with Debian's
 * /usr/bin/python3) serving H.264 mp4 files that loop forever, without re-encoding.
 *
 *   const cam = await startRtspServer({ mounts: { '/cam1': 'models/demo/demo.mp4' } });
 *   cam.url('/cam1');   // rtsp://127.0.0.1:<port>/cam1
 *   await cam.pause();  // SIGSTOP: a frozen camera (TCP stays open, no data)
 *   await cam.resume(); // SIGCONT
 *   cam.kill();         // SIGKILL: a dead camera
 *   await cam.stop();   // SIGTERM, then SIGKILL after 3 s
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tail, hasExited, spawnTied, terminate, waitExit, waitStopped } from './proc.js';

export const PYTHON = '/usr/bin/python3';
export const RTSP_SERVER_SCRIPT = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));

export interface RtspServerOptions {
  /** mount point ('/cam1') → path of an H.264 mp4 file */
  mounts: Record<string, string>;
  /** Port on 127.0.0.1; default 0: the server takes a free one and reports it. Give one to restart a server on the same port. */
  port?: number;
  /** How long to wait for READY (default 15000 ms). */
  readyTimeoutMs?: number;
}

export interface RtspServer {
  port: number;
  url(mount: string): string;
  proc: ChildProcessWithoutNullStreams;
  /** The server's stderr so far (last 16 kB). */
  logs(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once it has exited. Safe to call twice, and when paused. */
  stop(): Promise<void>;
  /** SIGKILL, like a camera losing power; resolves once it has exited. */
  kill(): Promise<void>;
  /**
   * SIGSTOP: the server freezes with its sockets open. The signal is sent at once; the promise
   * resolves when the process is actually stopped (signal delivery is asynchronous).
   */
  pause(): Promise<void>;
  /** SIGCONT; resolves when the process runs again. */
  resume(): Promise<void>;
}

export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  const entries = Object.entries(opts.mounts);
  if (entries.length === 0) throw new Error('startRtspServer: no mounts');
  const args = [RTSP_SERVER_SCRIPT, '--port', String(opts.port ?? 0)];
  for (const [mount, file] of entries) {
    if (!mount.startsWith('/')) throw new Error(`startRtspServer: mount "${mount}" must start with "/"`);
    if (!existsSync(file)) throw new Error(`startRtspServer: no such file ${file}`);
    args.push('--mount', `${mount}=${file}`);
  }

  const proc = spawnTied(PYTHON, args);
  const stderr = new Tail();
  proc.stderr.on('data', (c: Buffer) => stderr.push(c));

  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      cleanup();
      void terminate(proc, 500);
      reject(new Error(`rtsp_server.py ${why}\n--- command: ${PYTHON} ${args.join(' ')}\n--- stderr:\n${stderr}`));
    };
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /^READY (\d+)$/m.exec(out);
      if (m) {
        cleanup();
        resolve(Number(m[1]));
      }
    };
    // 'close' rather than 'exit': by then stderr has been read to the end.
    const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited before READY (code ${code}, signal ${signal})`);
    const onError = (err: Error) => fail(`could not be started: ${err.message}`);
    const timer = setTimeout(() => fail(`did not print READY within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('close', onClose);
      proc.off('error', onError);
    };
    proc.stdout.on('data', onData);
    proc.once('close', onClose);
    proc.once('error', onError);
  });
  // Keep draining stdout so the pipe can never fill up.
  proc.stdout.resume();

  return {
    port,
    url: (mount: string) => `rtsp://127.0.0.1:${port}${mount.startsWith('/') ? mount : `/${mount}`}`,
    proc,
    logs: () => stderr.toString(),
    stop: () => terminate(proc, 3000),
    kill: async () => {
      if (hasExited(proc)) return;
      proc.kill('SIGKILL');
      await waitExit(proc, 5000);
    },
    pause: async () => {
      if (hasExited(proc)) return;
      proc.kill('SIGSTOP');
      await waitStopped(proc.pid!, true);
    },
    resume: async () => {
      if (hasExited(proc)) return;
      proc.kill('SIGCONT');
      await waitStopped(proc.pid!, false);
    },
  };
}
