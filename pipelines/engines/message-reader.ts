// The pull side of the engine protocol's framing (protocol.ts), for the worker's stdin: a reader that
// chooses where each read lands (a socket with `onread`) asks target() for the memory the next read
// must fill and reports the bytes with advance(n). Pure.
import { DEFAULT_MAX_BODY_BYTES, PREFIX_BYTES, ProtocolError, readHeader, readPrefix, type Message } from './protocol.js';

const EMPTY = Buffer.alloc(0);

/** A message whose body lives in a reused buffer: call release() once done with the body. */
export interface PooledMessage extends Message {
  release(): void;
}

/**
 * target() is the memory the next read must fill, advance(n) accounts for n bytes read there. Bodies go into reused buffers (a 2.7 MB camera frame per request would otherwise be new
 * garbage each time), handed out with the message and taken back by its release(). Reads never
 * cross a message boundary, so no byte is copied twice. Fails like FrameDecoder (and stays failed).
 */
export class MessageReader {
  private prefix = Buffer.alloc(PREFIX_BYTES);
  private part: 'prefix' | 'header' | 'body' = 'prefix';
  private buf: Buffer = this.prefix;
  private filled = 0;
  private header: Message['header'] | null = null;
  private bodyLen = 0;
  private free: Buffer[] = [];
  private failed: ProtocolError | null = null;

  constructor(
    private readonly maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    /** Idle body buffers kept for reuse. */
    private readonly keep = 2,
  ) {}

  /** Where the next bytes must be read to (never empty). */
  target(): Buffer {
    return this.buf.subarray(this.filled);
  }

  /** `n` bytes were read into target(); returns the message they complete, if any. */
  advance(n: number): PooledMessage | null {
    if (this.failed) throw this.failed;
    this.filled += n;
    if (this.filled < this.buf.length) return null;
    if (this.part === 'prefix') {
      const lens = readPrefix(this.prefix, this.maxBodyBytes);
      if (typeof lens === 'string') return this.fail(lens);
      if (lens.h === 0) return this.fail('header of 0 bytes (a header is a JSON object)');
      this.bodyLen = lens.b;
      return this.next('header', Buffer.allocUnsafe(lens.h));
    }
    if (this.part === 'header') {
      const header = readHeader(this.buf);
      if (typeof header === 'string') return this.fail(header);
      this.header = header;
      if (this.bodyLen > 0) return this.next('body', this.takeBody(this.bodyLen));
      return this.complete(EMPTY, null);
    }
    return this.complete(this.buf, this.buf);
  }

  /** Idle body buffers held. */
  get idle(): number {
    return this.free.length;
  }

  private next(part: 'prefix' | 'header' | 'body', buf: Buffer): null {
    this.part = part;
    this.buf = buf;
    this.filled = 0;
    return null;
  }

  private complete(body: Buffer, pooled: Buffer | null): PooledMessage {
    const header = this.header!;
    this.header = null;
    this.next('prefix', this.prefix);
    let released = false;
    return {
      header,
      body,
      release: () => {
        if (released || !pooled) return;
        released = true;
        if (this.free.length < this.keep) this.free.push(pooled);
      },
    };
  }

  private takeBody(n: number): Buffer {
    const i = this.free.findIndex((b) => b.length === n);
    return i >= 0 ? this.free.splice(i, 1)[0] : Buffer.allocUnsafe(n);
  }

  private fail(msg: string): never {
    this.failed = new ProtocolError(msg);
    throw this.failed;
  }
}
