// A small bounded outbox for retained / QoS 1 state events: they must survive a broker outage (and a
// restart of the daemon, when a file is given: it lives under the state dir), but must not fill memory
// or disk. First in, first out; beyond `max` entries the oldest is dropped and counted. An entry
// pushed with `coalesce` replaces a queued entry for the same topic (only the newest health report
// matters), keeping its place in the order. Per-frame results never come here; per-person events
// (not retained) and the latest snapshot per camera (retained, binary as base64) do.
//
// On disk (D169) the queue is a journal: one JSON line per change appended (a push, a push that replaces
// a coalesced entry, an acknowledgement), and the whole queue written afresh only now and then (the
// first change after start, and once the lines since the last whole write outnumber the queue, at least
// 64). Each event costs one short append instead of a rewrite of the whole queue, which during a
// broker outage with a full queue (1,000 events, snapshots as base64) meant about a megabyte written
// per event and per acknowledgement.
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
  /** The journal file that keeps the queue across restarts; null = memory only. */
  file: string | null;
}

/** One line of the journal after its header. */
type Op = { push: OutboxEntry; id: number; replaces?: number } | { ack: number };

/** The journal's first line. `max`: the bound its pushes were made under (replayed with it). */
interface Header {
  version: 2;
  dropped: number;
  max: number;
}

/** Lines appended since the last whole write before the next change writes the queue afresh: at least this, at most the queue's length. */
const COMPACT_MIN = 64;

const isEntry = (x: unknown): x is OutboxEntry => typeof x === 'object' && x !== null && typeof (x as OutboxEntry).topic === 'string' && typeof (x as OutboxEntry).payload === 'string';

export class Outbox {
  private entries: OutboxEntry[] = [];
  private ids = new WeakMap<OutboxEntry, number>();
  private nextId = 1;
  /** Lines appended since the queue was last written whole; -1 = not yet by this process. */
  private appended = -1;
  dropped = 0;
  lastError: string | null = null;
  /** What went to the file: appended lines, whole writes, bytes in all. */
  readonly written = { appends: 0, whole: 0, bytes: 0 };

  constructor(readonly opts: OutboxOptions) {
    if (opts.max < 1) throw new Error('outbox max must be at least 1');
    this.load();
  }

  get size(): number {
    return this.entries.length;
  }

  push(e: OutboxEntry): void {
    const id = this.nextId++;
    this.ids.set(e, id);
    if (e.coalesce) {
      const i = this.entries.findIndex((x) => x.topic === e.topic && x.coalesce);
      if (i >= 0) {
        const replaces = this.ids.get(this.entries[i])!;
        this.entries[i] = e;
        return this.record({ push: e, id, replaces });
      }
    }
    this.add(e, this.opts.max);
    this.record({ push: e, id });
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
    this.record({ ack: this.ids.get(e)! });
  }

  all(): OutboxEntry[] {
    return [...this.entries];
  }

  /** Queued at the end; beyond `max` the oldest are dropped and counted. */
  private add(e: OutboxEntry, max: number): void {
    this.entries.push(e);
    this.trim(max);
  }

  /** Beyond `max` entries the oldest are dropped and counted. */
  private trim(max: number): void {
    while (this.entries.length > max) {
      this.entries.shift();
      this.dropped++;
    }
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
    const lines = text.split('\n');
    let first: { version?: unknown; entries?: unknown; dropped?: unknown; max?: unknown; push?: unknown; ack?: unknown };
    try {
      first = JSON.parse(lines[0]) as typeof first;
    } catch (e) {
      // A torn or foreign file must not stop the daemon: start empty, keep the reason.
      this.lastError = `ignored unreadable outbox ${f}: ${(e as Error).message}`;
      return;
    }
    this.dropped = typeof first.dropped === 'number' ? first.dropped : 0;
    if (first.version === 2) this.replay(lines.slice(1), typeof first.max === 'number' && first.max >= 1 ? first.max : this.opts.max, f);
    // lines appended after the file was removed under a running daemon: a journal without its header
    else if ('push' in first || 'ack' in first) this.replay(lines, this.opts.max, f);
    // the whole-file format before the journal (version 1)
    else for (const x of Array.isArray(first.entries) ? first.entries : []) if (isEntry(x)) this.add(x, Infinity);
    for (const x of this.entries) if (!this.ids.has(x)) this.ids.set(x, this.nextId++);
    this.trim(this.opts.max);
  }

  /** The journal's lines after its header, applied in order; a line cut short by a crash is skipped. */
  private replay(lines: string[], max: number, f: string): void {
    const byId = new Map<number, OutboxEntry>();
    let skipped = 0;
    for (const line of lines) {
      if (!line) continue;
      let op: Op;
      try {
        op = JSON.parse(line) as Op;
      } catch {
        skipped++;
        continue;
      }
      if ('ack' in op) {
        const e = byId.get(op.ack);
        const i = e ? this.entries.indexOf(e) : -1;
        if (i >= 0) this.entries.splice(i, 1);
        continue;
      }
      if (!isEntry(op.push) || typeof op.id !== 'number') continue;
      byId.set(op.id, op.push);
      this.ids.set(op.push, op.id);
      this.nextId = Math.max(this.nextId, op.id + 1);
      const old = op.replaces === undefined ? undefined : byId.get(op.replaces);
      const i = old ? this.entries.indexOf(old) : -1;
      if (i >= 0) this.entries[i] = op.push;
      else this.add(op.push, max);
    }
    if (skipped) this.lastError = `skipped ${skipped} unreadable line(s) of outbox ${f} (a write cut short)`;
  }

  /** A change to the journal: appended, or the whole queue written afresh when it is due. */
  private record(op: Op): void {
    const f = this.opts.file;
    if (!f) return;
    if (this.appended < 0 || this.appended >= Math.max(COMPACT_MIN, this.entries.length)) return this.writeWhole(f);
    try {
      const line = JSON.stringify(op) + '\n';
      fs.appendFileSync(f, line);
      this.appended++;
      this.written.appends++;
      this.written.bytes += Buffer.byteLength(line);
    } catch (e) {
      this.lastError = `cannot write ${f}: ${(e as Error).message}`;
      this.appended = -1; // write it whole next time
    }
  }

  /** Write to a temporary file and rename it over the old one: a crash never leaves half a file. */
  private writeWhole(f: string): void {
    try {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      const tmp = `${f}.tmp`;
      const header: Header = { version: 2, dropped: this.dropped, max: this.opts.max };
      const text = [header, ...this.entries.map((e): Op => ({ push: e, id: this.ids.get(e)! }))].map((x) => JSON.stringify(x) + '\n').join('');
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, f);
      this.appended = 0;
      this.written.whole++;
      this.written.bytes += Buffer.byteLength(text);
    } catch (e) {
      this.lastError = `cannot write ${f}: ${(e as Error).message}`;
    }
  }
}
