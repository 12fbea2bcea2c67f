// Frames from a child process through a named pipe, read straight into pooled frame buffers.
// A child's stdout pipe gives Node one fresh 64 KB buffer per read (2.7 MB of garbage per 720p
// frame, plus the frame it is copied into); a net.Socket made on the FIFO's descriptor with
// `onread` reads into memory we choose: each read lands in the frame being filled, nothing is
// allocated per frame once the pool is warm.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { FramePool } from './frame-pool.js';
import { FixedFramer, type FramedFrame, type Framer } from './y4m.js';

/** Make a FIFO (mode 0600) at `path`; throws with mkfifo's message when it cannot. */
export function makeFifo(path: string): void {
  rmSync(path, { force: true });
  const r = spawnSync('mkfifo', ['-m', '600', path], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run mkfifo: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${(r.stderr || '').trim() || `exit ${r.status}`}`);
}

export interface FifoReaderEvents {
  /** A complete frame: `data` is a pooled buffer, owned by the callee from here (release it). */
  onFrame: (data: Buffer, frame: FramedFrame) => void;
  /** The writer closed the pipe (the child exited) or reading failed. */
  onEnd: (err?: Error) => void;
}

/**
 * Read frames from the FIFO at `path`: fixed-size ones (a FramePool of their size) or whatever a
 * Framer cuts (y4m.ts: YUV4MPEG2, which says its own frame size). Open it before starting the writer: the open does
 * not block (O_NONBLOCK) and the writer's open then finds a reader. End-of-file comes only after a
 * writer has connected and gone. One reader per writer run: close() and open a new one for a restart,
 * so bytes of a killed run can never mix with the next run's frames.
 */
export class FifoReader {
  private socket: Socket;
  private closed = false;
  private readonly framer: Framer;

  constructor(
    path: string,
    pool: FramePool | Framer,
    private readonly ev: FifoReaderEvents,
  ) {
    this.framer = pool instanceof FramePool ? new FixedFramer(pool, 0, 0) : pool;
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      // `onread` in the constructor is Node's (v12.2+); @types/node 20 lists it for connect() only.
      this.socket = new Socket({
        fd,
        readable: true,
        writable: false,
        onread: {
          // Each read lands in the unfilled rest of the current frame: never across two frames.
          buffer: () => this.framer.target(),
          callback: (n: number) => {
            this.onBytes(n);
            return true;
          },
        },
      } as SocketConstructorOpts);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    this.socket.on('end', () => this.finish());
    this.socket.on('error', (e) => this.finish(e));
    this.socket.on('close', () => this.finish());
  }

  private onBytes(n: number): void {
    if (this.closed) return;
    let f: FramedFrame | null;
    try {
      f = this.framer.advance(n);
    } catch (e) {
      // a malformed stream cannot be resynchronised: this run is over (the source restarts it)
      return this.finish(e as Error);
    }
    if (f) this.ev.onFrame(f.data, f);
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.ev.onEnd(err);
  }

  /** Stop reading for now: the writer blocks once the pipe is full (backpressure). */
  pause(): void {
    if (!this.closed) this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  /** Stop reading and close the descriptor (idempotent; onEnd is not called). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}
