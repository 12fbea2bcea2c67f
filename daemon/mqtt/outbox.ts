// A small bounded outbox for retained / QoS 1 state events: they must survive a broker outage (and a
// restart of the daemon, when a file is given: it lives under the state dir), but must not fill memory
// or disk. First in, first out; beyond `max` entries the oldest is dropped and counted. An entry
// pushed with `coalesce` replaces a queued entry for the same topic (only the newest health report
// matters), keeping its place in the order. Per-frame results never come here; per-person events
// (not retained) and the latest snapshot per camera (retained, binary as base64) do.
import fs from 'node:fs';
import path from 'node:path';

export interface OutboxEntry {
  topic: string;
  payload: string;
  /** When it was queued (ms since epoch). */
  at: number;
  coalesce?: boolean;
  /** false: published without the retain flag (per-person events); absent = retained (state). */
  retain?: boolean;
  /** The payload is base64 of binary bytes (a JPEG snapshot). */
  base64?: boolean;
}

export interface OutboxOptions {
  max: number;
  /** JSON file that keeps the queue across restarts; null = memory only. */
  file: string | null;
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  dropped = 0;
  lastError: string | null = null;

  constructor(readonly opts: OutboxOptions) {
    if (opts.max < 1) throw new Error('outbox max must be at least 1');
    this.load();
  }

  get size(): number {
    return this.entries.length;
  }

  push(e: OutboxEntry): void {
    if (e.coalesce) {
      const i = this.entries.findIndex((x) => x.topic === e.topic && x.coalesce);
      if (i >= 0) {
        this.entries[i] = e;
        this.save();
        return;
      }
    }
    this.entries.push(e);
    while (this.entries.length > this.opts.max) {
      this.entries.shift();
      this.dropped++;
    }
    this.save();
  }

  peek(): OutboxEntry | undefined {
    return this.entries[0];
  }

  /** Remove the head once the broker acknowledged it (only if it is still that entry). */
  ack(e: OutboxEntry): void {
    if (this.entries[0] !== e) {
      // the head was coalesced or dropped meanwhile: remove that exact entry if it is still queued
      const i = this.entries.indexOf(e);
      if (i < 0) return;
      this.entries.splice(i, 1);
    } else this.entries.shift();
    this.save();
  }

  all(): OutboxEntry[] {
    return [...this.entries];
  }

  private load(): void {
    const f = this.opts.file;
    if (!f) return;
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.lastError = `cannot read ${f}: ${(e as Error).message}`;
      return;
    }
    try {
      const v = JSON.parse(text) as { entries?: unknown; dropped?: unknown };
      const list = Array.isArray(v.entries) ? v.entries : [];
      this.entries = list.filter(
        (x): x is OutboxEntry => typeof x === 'object' && x !== null && typeof (x as OutboxEntry).topic === 'string' && typeof (x as OutboxEntry).payload === 'string',
      );
      this.dropped = typeof v.dropped === 'number' ? v.dropped : 0;
      while (this.entries.length > this.opts.max) {
        this.entries.shift();
        this.dropped++;
      }
    } catch (e) {
      // A torn or foreign file must not stop the daemon: start empty, keep the reason.
      this.lastError = `ignored unreadable outbox ${f}: ${(e as Error).message}`;
      this.entries = [];
    }
  }

  /** Write to a temporary file and rename it over the old one: a crash never leaves half a file. */
  private save(): void {
    const f = this.opts.file;
    if (!f) return;
    try {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      const tmp = `${f}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ version: 1, dropped: this.dropped, entries: this.entries }));
      fs.renameSync(tmp, f);
    } catch (e) {
      this.lastError = `cannot write ${f}: ${(e as Error).message}`;
    }
  }
}
