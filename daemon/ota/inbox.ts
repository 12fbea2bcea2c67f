// Local pushes (edgectl push --local): bundles written into <stateDir>/inbox/<id>.bundle (temp file +
// rename) are moved into staging/ (emptied at start: a crash mid-install does not retry it) and
// handed to the installer one at a time, as a file (read in pieces, never whole); the result is
// written beside them as <id>.result.json (temp file + rename) for edgectl to read.
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TRANSFER_ID, type ResultCode, type ResultPayload } from '../../deploy/ota/protocol.js';
import type { Logger } from '../log.js';

export interface InboxDeps {
  /** Nothing else is being received or installed. */
  idle(): boolean;
  /** Install the bundle file at `path` (the callee removes it). */
  install(path: string, id: string): Promise<ResultPayload>;
  refuse(id: string, code: ResultCode, message: string): ResultPayload | undefined;
}

export class Inbox {
  readonly dir: string;
  constructor(
    stateDir: string,
    private readonly stagingDir: string,
    private readonly maxBundleBytes: number,
    private readonly deps: InboxDeps,
    private readonly log: Logger,
  ) {
    this.dir = join(stateDir, 'inbox');
  }

  async poll(): Promise<void> {
    if (!this.deps.idle()) return;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const name = names.filter((n) => n.endsWith('.bundle')).sort()[0];
    if (!name) return;
    const id = name.slice(0, -'.bundle'.length);
    const path = join(this.dir, name);
    if (!TRANSFER_ID.test(id)) {
      await rm(path, { force: true });
      return void this.log.warn('ota: inbox file with a bad name removed', { name });
    }
    let r: ResultPayload | undefined;
    const size = (await stat(path)).size;
    if (size > this.maxBundleBytes) {
      await rm(path, { force: true });
      r = this.deps.refuse(id, 'TOO_LARGE', `bundle of ${size} bytes exceeds ota.maxBundleBytes (${this.maxBundleBytes})`);
    } else {
      const staged = join(this.stagingDir, `${id}.local`);
      await rename(path, staged);
      this.log.info('ota: local push', { id, bytes: size });
      r = await this.deps.install(staged, id);
    }
    if (!r) return;
    await writeFile(join(this.dir, `${id}.result.json.tmp`), JSON.stringify(r, null, 2));
    await rename(join(this.dir, `${id}.result.json.tmp`), join(this.dir, `${id}.result.json`));
  }
}
