// The nonces of accepted signed commands (deploy/ota/command.ts ReplayWindow entries), kept in the
// OTA state directory so that a restart does not reopen a replay. Written atomically and synced
// before the command runs.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Logger } from '../log.js';

export class NonceFile {
  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** The saved entries, or none (missing file; an unreadable one is logged). */
  read(): unknown[] {
    try {
      const v = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      return Array.isArray(v) ? v : [];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('ota: unreadable command nonces, starting with none', { file: this.file, err: (e as Error).message });
      return [];
    }
  }

  /** Replace the saved entries (tmp file, fsync, rename); throws when it cannot. */
  write(entries: readonly [string, number][]): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(entries));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
