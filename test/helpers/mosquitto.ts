/**
 * A real mosquitto 2.0 broker for tests, on 127.0.0.1 and a free port, from a temporary config:
 *
 *   listener PORT 127.0.0.1
 *   allow_anonymous true
 *   max_queued_messages 0     (no limit: the default 1000 silently drops QoS 1 messages to a slow subscriber)
 *   persistence false
 *   log_dest stderr
 *
 * plus any `extraConfig` lines (e.g. a password_file, an acl_file, a second listener).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { Tail, hasExited, spawnTied, terminate } from './proc.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Extra lines appended to the config file. */
  extraConfig?: string[];
  /** How long to wait until a TCP connect succeeds (default 10000 ms). */
  readyTimeoutMs?: number;
}

export interface Mosquitto {
  port: number;
  /** mqtt://127.0.0.1:<port> */
  url: string;
  proc: ChildProcessWithoutNullStreams;
  /** The temporary folder holding mosquitto.conf; put password or ACL files here. Removed by stop(). */
  dir: string;
  /** The broker's log so far (last 16 kB). */
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s, then removes the temporary folder. Safe to call twice. */
  stop(): Promise<void>;
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-test-'));
  try {
    // A free port can be taken by someone else before mosquitto binds it: try again with a new one.
    const attempts = opts.port === undefined ? 3 : 1;
    let lastError: Error | undefined;
    for (let i = 0; i < attempts; i++) {
      const port = opts.port ?? (await freePort());
      try {
        return await launch(dir, port, opts);
      } catch (err) {
        lastError = err as Error;
        if (!/Address already in use/i.test(lastError.message)) break;
      }
    }
    throw lastError;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(dir: string, port: number, opts: MosquittoOptions): Promise<Mosquitto> {
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'max_queued_messages 0',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    // As root, mosquitto switches to the `mosquitto` user on start, and that credential change
    // clears the parent-death signal that ties it to the test process (see spawnTied): a broker
    // would outlive a killed test. `user root` keeps it from switching.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    ...(opts.extraConfig ?? []),
  ];
  await writeFile(conf, lines.join('\n') + '\n');

  const proc = spawnTied(MOSQUITTO, ['-c', conf]);
  const log = new Tail();
  // "mosquitto version X running" comes after every listener is open; waiting for it as well as
  // for a TCP connect means a connect to some other process that holds the port does not count.
  let running = false;
  let head = '';
  const onLog = (c: Buffer) => {
    log.push(c);
    if (!running) {
      head += c.toString();
      running = /mosquitto version \S+ running/.test(head);
    }
  };
  proc.stdout.on('data', onLog);
  proc.stderr.on('data', onLog);
  let spawnError: Error | undefined;
  proc.once('error', (e) => (spawnError = e));

  const timeoutMs = opts.readyTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError || hasExited(proc)) {
      await new Promise((r) => setImmediate(r)); // let the last stderr chunk arrive
      await terminate(proc, 500);
      const why = spawnError ? `could not be started: ${spawnError.message}` : `exited (code ${proc.exitCode})`;
      throw new Error(`mosquitto ${why}\n--- config:\n${lines.join('\n')}\n--- log:\n${log}`);
    }
    if (running && (await tcpConnects(port))) break;
    if (Date.now() > deadline) {
      await terminate(proc, 500);
      throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms\n--- log:\n${log}`);
    }
    await sleep(50);
  }

  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    proc,
    dir,
    logs: () => log.toString(),
    stop: () =>
      (stopped ??= (async () => {
        await terminate(proc, 3000);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
