// SharedFrames' frame reader (reader-core.ts) on the supervisor's own event loop (D174; a thread of
// its own before, D154): send it a header, get its messages, hear once when it ended and why. A frame
// notice reaches the scheduler from the I/O callback that read the frame's last bytes, with no
// hand-over between threads on the way (the 1-camera path's hop, and ≈ 0.15 ms of the supervisor's
// CPU a frame at 12 cameras).
import { FrameReader, type ReaderHeader } from './reader-core.js';

export interface ReaderLink {
  /** A header for the reader, handled on a microtask, in the order sent (as a thread would take it once the caller returns). */
  send(header: ReaderHeader): void;
  /** Stop it: every FIFO and slot descriptor it holds is closed. */
  stop(): void;
  /** End it now, as a crash would (onExit follows). */
  kill(): void;
}

export interface LinkEvents {
  /** A header from the reader and, with a frame notice, its thumbnail (the callee's to keep). */
  onMessage: (header: ReaderHeader, body: Uint8Array | undefined) => void;
  /** Once, when it ended on its own or was killed (not after stop()): why, in words. */
  onExit: (why: string) => void;
}

/**
 * Start a reader. An exception in its own work (a header it does not know, a bug in reading) ends it as
 * a crash would: onExit, and its owner restarts every camera; the supervisor goes on. Its notices reach
 * the owner on a microtask, outside that guard, so an exception in what the owner does with a frame is
 * the owner's own.
 */
export function startReader(ev: LinkEvents): ReaderLink {
  let ended = false;
  /** Close everything it holds, once; false when it had ended already. */
  const close = (): boolean => {
    if (ended) return false;
    ended = true;
    try {
      reader.closeAll();
    } catch {
      // already failing: what it holds is closed as far as it can be
    }
    return true;
  };
  // heard after the call that ended it returns, as a thread's exit was
  const end = (why: string) => close() && queueMicrotask(() => ev.onExit(why));
  const guard = (work: () => void) => {
    try {
      work();
    } catch (e) {
      end(`frame reader crashed: ${(e as Error).message}`);
    }
  };
  const reader: FrameReader = new FrameReader((header, body) => queueMicrotask(() => !ended && ev.onMessage(header, body)), guard);
  return {
    send: (h) => {
      if (!ended) queueMicrotask(() => !ended && guard(() => reader.handle(h)));
    },
    stop: () => void close(),
    kill: () => end('frame reader killed'),
  };
}
