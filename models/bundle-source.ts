// A bundle checked where it lies (the staged file of an OTA transfer), without holding it in memory:
// the header, model.json and model.json.sig (each bounded: bundle.ts MAX_*) are read whole; every other
// file is only hashed, through one buffer of `readBytes` reused for every read. Same checks, same
// codes and the same format as verifyBundle (bundle.ts checkManifest does the signatures and the file
// set for both). Installing copies each file's range the same way (copyRange) and hashes it again on
// the way, so the bytes installed are the bytes checked even if the staged file changed meanwhile.
import { createHash } from 'node:crypto';
import { BundleError, bundleEntries, bundleHeaderLength, checkManifest, hashMismatch, MANIFEST_NAME, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, SIGNATURE_NAME, type BundleEntry, type SignedManifest, type VerifyOptions } from './bundle.js';

/** Bytes that can be read at any position: a FileHandle (with its size), or a Buffer (bufferSource). */
export interface ByteSource {
  readonly size: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** The default size of one read (and of the only buffer a verification or a copy holds). */
export const READ_BYTES = 256 * 1024;

export function bufferSource(b: Buffer): ByteSource {
  return { size: b.length, read: async (buf, offset, length, position) => ({ bytesRead: position >= b.length ? 0 : b.copy(buf, offset, position, Math.min(position + length, b.length)) }) };
}

/** Read exactly `size` bytes at `offset` (for the small parts: header, manifest, signature). */
export async function readRange(src: ByteSource, offset: number, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await src.read(buf, got, size - got, offset + got);
    if (bytesRead <= 0) throw new BundleError('BAD_BUNDLE', `bundle ends at ${offset + got} bytes, ${size - got} short of its declared content (truncated?)`);
    got += bytesRead;
  }
  return buf;
}

/**
 * The sha256 of `size` bytes at `offset`, read `readBytes` at a time into one buffer; each piece is
 * also handed to `each` (a copy writes it out) before the next read overwrites it.
 */
export async function copyRange(src: ByteSource, offset: number, size: number, each?: (piece: Buffer) => Promise<unknown>, readBytes = READ_BYTES): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(readBytes, size)));
  let done = 0;
  while (done < size) {
    const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - done), offset + done);
    if (bytesRead <= 0) throw new BundleError('BAD_BUNDLE', `bundle ends at ${offset + done} bytes, ${size - done} short of its declared content (truncated?)`);
    const piece = buf.subarray(0, bytesRead);
    h.update(piece);
    if (each) await each(piece);
    done += bytesRead;
  }
  return h.digest('hex');
}

export const hashRange = (src: ByteSource, offset: number, size: number, readBytes = READ_BYTES) => copyRange(src, offset, size, undefined, readBytes);

/** The files of a bundle and where each lies; throws BAD_BUNDLE like decodeBundle. */
export async function readBundleEntries(src: ByteSource): Promise<BundleEntry[]> {
  if (src.size < 8) throw new BundleError('BAD_BUNDLE', 'not a model bundle (bad magic)');
  const h = bundleHeaderLength(await readRange(src, 0, 8), src.size);
  return bundleEntries(await readRange(src, 8, h), src.size);
}

/** A file of a verified bundle: in memory (model.json, its signature) or a checked range of the source. */
export type SourceFile = { name: string; bytes: Buffer } | { name: string; offset: number; size: number; sha256: string };

export interface VerifiedSource extends Omit<SignedManifest, 'wanted'> {
  files: SourceFile[];
}

/** verifyBundle for a bundle read from `src` in pieces of at most `readBytes` (plus the bounded manifest and signature). */
export async function verifyBundleSource(src: ByteSource, opts: VerifyOptions & { readBytes?: number }): Promise<VerifiedSource> {
  const entries = await readBundleEntries(src);
  const small = async (name: string, max: number, code: 'MANIFEST_INVALID' | 'BAD_BUNDLE') => {
    const e = entries.find((x) => x.name === name);
    if (!e) return undefined;
    if (e.size > max) throw new BundleError(code, `${name} has ${e.size} bytes, more than ${max}`);
    return readRange(src, e.offset, e.size);
  };
  const manifestBytes = await small(MANIFEST_NAME, MAX_MANIFEST_BYTES, 'MANIFEST_INVALID');
  const sigBytes = await small(SIGNATURE_NAME, MAX_SIGNATURE_BYTES, 'BAD_BUNDLE');
  const { wanted, ...signed } = checkManifest(manifestBytes, sigBytes, entries.map((e) => e.name), opts);
  const want = new Map(wanted.map((w) => [w.file, w.sha256]));
  for (const w of wanted) {
    const e = entries.find((x) => x.name === w.file)!;
    const got = await hashRange(src, e.offset, e.size, opts.readBytes);
    if (got !== w.sha256) throw hashMismatch(w.file, got, w.sha256);
  }
  const files: SourceFile[] = entries.map((e) =>
    e.name === MANIFEST_NAME ? { name: e.name, bytes: manifestBytes! } : e.name === SIGNATURE_NAME ? { name: e.name, bytes: sigBytes! } : { name: e.name, offset: e.offset, size: e.size, sha256: want.get(e.name)! },
  );
  return { ...signed, files };
}
