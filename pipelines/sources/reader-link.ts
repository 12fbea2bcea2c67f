// SharedFrames' frame reader (reader-core.ts) on a thread of the supervisor's process (D154): send it
// a header, get its messages, hear once when it ended and why. It holds no native code, so a thread
// gives up no isolation a process gave, and a hand-over between threads wakes the supervisor for
// less than one between processes (docs/BENCHMARKS.md, round 13).
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReaderHeader } from './reader-core.js';

export interface ReaderLink {
  send(header: ReaderHeader): void;
  /** Ask it to stop (shutdown), and end it for good after graceMs. Resolves once it is gone. */
  stop(graceMs: number): Promise<void>;
  /** End it now, as a crash would (onExit follows). */
  kill(): void;
  /** The thread's id (a crash's log names it). */
  readonly threadId: number;
}

export interface LinkEvents {
  /** A header from the reader and, with a frame notice, its thumbnail (this thread's memory now). */
  onMessage: (header: ReaderHeader, body: Uint8Array | undefined) => void;
  /** Once, when it ended on its own or was killed (not after stop()): why, in words. */
  onExit: (why: string) => void;
  /** A line it wrote to stderr. */
  onStderr: (line: string) => void;
}

/** The thread's entry next to this file (.ts under the tests' loader, .js when built). */
function entry(): string {
  const ext = extname(fileURLToPath(import.meta.url));
  return fileURLToPath(new URL(`./reader-thread${ext}`, import.meta.url));
}

export function threadReader(ev: LinkEvents): ReaderLink {
  const w = new Worker(entry(), { stderr: true });
  let ended = false;
  let stopping = false;
  let killed = false;
  let error = '';
  const gone = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  w.on('message', (m: { header: ReaderHeader; body?: Uint8Array }) => {
    if (!ended) ev.onMessage(m.header, m.body);
  });
  w.on('error', (e) => (error = e.message)); // an uncaught exception: 'exit' follows
  w.stderr.setEncoding('utf8');
  w.stderr.on('data', (s: string) => s.split('\n').forEach((l) => l.trim() && ev.onStderr(l)));
  w.on('exit', (code) => {
    if (ended || stopping) return;
    ended = true;
    ev.onExit(`frame reader ${killed ? 'killed' : error ? `crashed: ${error}` : `ended with code ${code}`}`);
  });
  return {
    threadId: w.threadId,
    send: (h) => {
      if (!ended) w.postMessage(h);
    },
    stop: async (graceMs) => {
      if (ended) return;
      stopping = true;
      w.postMessage({ type: 'shutdown' });
      const t = setTimeout(() => void w.terminate(), graceMs);
      await gone;
      clearTimeout(t);
    },
    kill: () => {
      killed = true;
      void w.terminate();
    },
  };
}
