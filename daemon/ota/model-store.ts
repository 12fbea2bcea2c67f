// The device's model store: every installed version in its own folder, and one pointer file
// (store.json) that says which is active and which is kept for rollback.
//
//   <stateDir>/models/<name>/<version>/   model.json, model.json.sig, model file(s), test vectors
//   <stateDir>/store.json                 { active, previous, installed[] }  (the pointer)
//   <stateDir>/staging/                   half-written installs; emptied on open
//
// Crash safety: a version is written into staging/, each file and the folder fsynced, then renamed
// into models/ in one step; the pointer is written to store.json.tmp, fsynced, renamed over
// store.json, and the folder fsynced. A crash at any point leaves store.json naming the old or the
// new version, and a version folder is either complete or absent.
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BundleFile } from '../../models/bundle.js';
import { SAFE_FILE, MANIFEST_NAME } from '../../models/bundle.js';
import { copyRange, type ByteSource } from '../../models/bundle-source.js';
import { CodedError } from '../../models/coded-error.js';
import { sameModel } from '../../models/update-meta.js';

export interface VersionRef {
  name: string;
  version: string;
}

export interface StorePointer {
  format: 'mobilenet-edge/store@1';
  active: VersionRef | null;
  previous: VersionRef | null;
  /** Installed versions, oldest first (pruning keeps the newest). */
  installed: (VersionRef & { at: string })[];
  /** Versions rolled back on this device (newest last, at most 100): never previous, never a rollback target. */
  bad?: BadVersion[];
}

export type BadVersion = VersionRef & { reason: string; at: string };

export type StoreStep = 'staging-partial' | 'staged' | 'installed' | 'pointer-tmp' | 'pointer-renamed' | 'pruned';

export class StoreError extends CodedError<'VERSION_CONFLICT' | 'BAD_NAME' | 'NOT_INSTALLED' | 'NO_PREVIOUS' | 'HASH_MISMATCH'> {}

/** A file to install: bytes in memory, or a checked range of a staged bundle (copied in fixed-size reads, hashed again on the way). */
export type StoreFile = BundleFile | { name: string; src: ByteSource; offset: number; size: number; sha256: string };

const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
export const sameRef = (a: VersionRef | null | undefined, b: VersionRef | null | undefined): boolean => !!a && !!b && a.name === b.name && a.version === b.version;
const key = (r: VersionRef) => `${r.name}/${r.version}`;

export function emptyPointer(): StorePointer {
  return { format: 'mobilenet-edge/store@1', active: null, previous: null, installed: [] };
}

/** Names that may become folders: the manifest rules (no separators, no leading dot). */
export function checkRef(r: VersionRef): void {
  if (!SAFE_FILE.test(r.name) || !VERSION.test(r.version) || r.version.includes('..'))
    throw new StoreError('BAD_NAME', `model name ${JSON.stringify(r.name)} / version ${JSON.stringify(r.version)} cannot be a store folder`);
}

export const isBad = (p: StorePointer, r: VersionRef | null | undefined): boolean => !!r && (p.bad ?? []).some((b) => sameRef(b, r));

/** Pure: the newest installed version that is none of `not` and not bad (a rollback target), or null. */
function newestGood(p: StorePointer, not: (VersionRef | null)[]): VersionRef | null {
  const r = [...p.installed].reverse().find((i) => !isBad(p, i) && !not.some((n) => sameRef(n, i)));
  return r ? { name: r.name, version: r.version } : null;
}

/** Pure: the pointer after activating `target`; the old active becomes previous (unless it is bad). */
export function activatePointer(p: StorePointer, target: VersionRef): StorePointer {
  if (!p.installed.some((i) => sameRef(i, target))) throw new StoreError('NOT_INSTALLED', `${key(target)} is not installed`);
  if (sameRef(p.active, target)) return p;
  const previous = p.active && !isBad(p, p.active) ? p.active : p.previous && !isBad(p, p.previous) && !sameRef(p.previous, target) ? p.previous : null;
  return { ...p, active: { name: target.name, version: target.version }, previous, bad: (p.bad ?? []).filter((b) => !sameRef(b, target)) };
}

/**
 * Pure: the pointer after a rollback: previous becomes active and the version left is marked bad
 * (with `reason`); the newest other kept version that is not bad becomes previous.
 */
export function rollbackPointer(p: StorePointer, reason = 'rolled back', at = new Date().toISOString()): StorePointer {
  if (!p.previous) throw new StoreError('NO_PREVIOUS', 'no previous version to roll back to');
  const to = p.previous;
  const from = p.active;
  const bad = from ? [...(p.bad ?? []).filter((b) => !sameRef(b, from)), { name: from.name, version: from.version, reason, at }].slice(-100) : (p.bad ?? []);
  const next = { ...p, active: to, bad };
  return { ...next, previous: newestGood(next, [to, from]) };
}

/** Pure: record an installation (moved to the newest end if it was there). */
export function recordInstall(p: StorePointer, r: VersionRef, at: string): StorePointer {
  return { ...p, installed: [...p.installed.filter((i) => !sameRef(i, r)), { name: r.name, version: r.version, at }] };
}

/** Pure: which installed versions to delete: all but active, previous and the newest `keep`. */
export function pruneList(p: StorePointer, keep: number): VersionRef[] {
  const good = p.installed.filter((i) => !isBad(p, i));
  const newest = keep > 0 ? good.slice(-keep) : []; // slice(-0) would keep them all
  return p.installed.filter((i) => !sameRef(i, p.active) && !sameRef(i, p.previous) && !newest.some((n) => sameRef(n, i)));
}

export function parsePointer(raw: unknown): StorePointer {
  const o = raw as StorePointer;
  const ref = (r: unknown) => r === null || (typeof r === 'object' && r !== null && typeof (r as VersionRef).name === 'string' && typeof (r as VersionRef).version === 'string');
  if (typeof o !== 'object' || o === null || o.format !== 'mobilenet-edge/store@1' || !ref(o.active) || !ref(o.previous) || !Array.isArray(o.installed) || !o.installed.every(ref) || (o.bad !== undefined && (!Array.isArray(o.bad) || !o.bad.every(ref))))
    throw new Error('store.json is not a mobilenet-edge store pointer');
  return o;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeDurable(path: string, bytes: Buffer | string): Promise<void> {
  const fh = await open(path, 'w', 0o644);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write one file to install, fsynced; a range of a staged bundle must still hash to what was checked. */
async function writeStoreFile(path: string, f: StoreFile): Promise<void> {
  if ('bytes' in f) return writeDurable(path, f.bytes);
  const fh = await open(path, 'w', 0o644);
  try {
    const got = await copyRange(f.src, f.offset, f.size, async (piece) => {
      for (let off = 0; off < piece.length; ) off += (await fh.write(piece, off, piece.length - off)).bytesWritten;
    });
    if (got !== f.sha256) throw new StoreError('HASH_MISMATCH', `${f.name} changed in the staged bundle after it was checked (sha256 ${got}, expected ${f.sha256})`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface ModelStoreOptions {
  /** Installed versions kept besides active and previous (the newest ones). */
  keep: number;
  /** Called after each step of install/activate (tests kill the process here). */
  onStep?: (step: StoreStep) => void;
  /**
   * Called after version folders were removed (prune, discard) with the manifests' bytes that were in
   * them and the folders still installed: the daemon removes those models' TensorRT engine caches.
   */
  onRemoved?: (removed: Buffer[], kept: string[]) => void | Promise<void>;
}

export class ModelStore {
  private constructor(
    readonly dir: string,
    private readonly opts: ModelStoreOptions,
    private p: StorePointer,
  ) {}

  /** Open (and create) a store; removes what a crash left in staging/ and store.json.tmp. */
  static async open(dir: string, opts: ModelStoreOptions): Promise<ModelStore> {
    await mkdir(join(dir, 'models'), { recursive: true });
    await rm(join(dir, 'staging'), { recursive: true, force: true });
    await mkdir(join(dir, 'staging'), { recursive: true });
    await rm(join(dir, 'store.json.tmp'), { force: true });
    let p = emptyPointer();
    try {
      p = parsePointer(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`model store ${dir}: ${(e as Error).message}`);
    }
    return new ModelStore(dir, opts, p);
  }

  get pointer(): StorePointer {
    return this.p;
  }

  get stagingDir(): string {
    return join(this.dir, 'staging');
  }

  versionDir(r: VersionRef): string {
    checkRef(r);
    return join(this.dir, 'models', r.name, r.version);
  }

  manifestPath(r: VersionRef): string {
    return join(this.versionDir(r), MANIFEST_NAME);
  }

  activeManifestPath(): string | null {
    return this.p.active ? this.manifestPath(this.p.active) : null;
  }

  async isInstalled(r: VersionRef): Promise<boolean> {
    return stat(this.manifestPath(r)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Install a verified bundle's files as <name>/<version> (not yet active). Installing a version that
   * is already there with the same manifest bytes is a no-op; with other bytes it is VERSION_CONFLICT.
   */
  async install(ref: VersionRef, files: StoreFile[]): Promise<'installed' | 'exists'> {
    const target = this.versionDir(ref);
    for (const f of files) if (!SAFE_FILE.test(f.name)) throw new StoreError('BAD_NAME', `file name ${JSON.stringify(f.name)} is not a plain file name`);
    const manifest = files.find((f): f is BundleFile => f.name === MANIFEST_NAME && 'bytes' in f);
    if (await this.isInstalled(ref)) {
      const have = await readFile(join(target, MANIFEST_NAME));
      // the same model; its update metadata (sequence, expiry) may differ from the installed copy's
      if (manifest && sameModel(have, manifest.bytes)) {
        await this.savePointer(recordInstall(this.p, ref, new Date().toISOString()), false);
        return 'exists';
      }
      throw new StoreError('VERSION_CONFLICT', `${key(ref)} is already installed with a different manifest: give the new model a new version`);
    }
    const stage = join(this.stagingDir, `install-${randomBytes(6).toString('hex')}`);
    await mkdir(stage);
    let first = true;
    try {
      for (const f of files) {
        await writeStoreFile(join(stage, f.name), f);
        if (first) this.opts.onStep?.('staging-partial');
        first = false;
      }
    } catch (e) {
      await rm(stage, { recursive: true, force: true });
      throw e;
    }
    await fsyncPath(stage);
    this.opts.onStep?.('staged');
    await mkdir(join(this.dir, 'models', ref.name), { recursive: true });
    await rm(target, { recursive: true, force: true }); // a leftover without model.json (never renamed in whole)
    await rename(stage, target);
    await fsyncPath(join(this.dir, 'models', ref.name));
    this.opts.onStep?.('installed');
    await this.savePointer(recordInstall(this.p, ref, new Date().toISOString()), false);
    return 'installed';
  }

  /** Make an installed version active (old active → previous), then prune. */
  async activate(ref: VersionRef): Promise<StorePointer> {
    await this.savePointer(activatePointer(this.p, ref), true);
    await this.prune();
    return this.p;
  }

  /** Switch the pointer back to the previous version; the version left is marked bad. */
  async rollback(reason = 'rolled back'): Promise<StorePointer> {
    await this.savePointer(rollbackPointer(this.p, reason), true);
    return this.p;
  }

  isBad(r: VersionRef): boolean {
    return isBad(this.p, r);
  }

  /** Remove an installed version that failed to activate (never the active or previous one). */
  async discard(ref: VersionRef): Promise<void> {
    if (sameRef(ref, this.p.active) || sameRef(ref, this.p.previous)) return;
    await this.savePointer({ ...this.p, installed: this.p.installed.filter((i) => !sameRef(i, ref)) }, false);
    await this.removeDirs([this.versionDir(ref)]);
  }

  /** Remove version folders, then tell onRemoved which manifests went (unreadable ones are skipped). */
  private async removeDirs(dirs: string[]): Promise<void> {
    const removed: Buffer[] = [];
    for (const d of dirs) {
      const m = await readFile(join(d, MANIFEST_NAME)).catch(() => null);
      if (m) removed.push(m);
      await rm(d, { recursive: true, force: true });
    }
    if (removed.length && this.opts.onRemoved) await this.opts.onRemoved(removed, this.p.installed.map((i) => this.versionDir(i)));
  }

  /** Delete versions outside active, previous and the newest `keep`; folders the pointer does not know (a crash between install and pointer) too. */
  async prune(): Promise<VersionRef[]> {
    const gone = pruneList(this.p, this.opts.keep);
    const keep = this.p.installed.filter((i) => !gone.some((g) => sameRef(g, i)));
    if (gone.length) await this.savePointer({ ...this.p, installed: keep }, false);
    const dirs = gone.map((g) => this.versionDir(g));
    for (const name of await readdir(join(this.dir, 'models'))) {
      for (const version of await readdir(join(this.dir, 'models', name)).catch(() => [] as string[])) {
        const d = join(this.dir, 'models', name, version);
        if (!keep.some((k) => k.name === name && k.version === version) && !dirs.includes(d)) dirs.push(d);
      }
    }
    await this.removeDirs(dirs);
    this.opts.onStep?.('pruned');
    return gone;
  }

  private async savePointer(next: StorePointer, steps: boolean): Promise<void> {
    const tmp = join(this.dir, 'store.json.tmp');
    await writeDurable(tmp, JSON.stringify(next, null, 2) + '\n');
    if (steps) this.opts.onStep?.('pointer-tmp');
    await rename(tmp, join(this.dir, 'store.json'));
    if (steps) this.opts.onStep?.('pointer-renamed');
    await fsyncPath(this.dir);
    this.p = next;
  }
}
