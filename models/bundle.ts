// A model bundle: the files of one model version in one byte string, for transport (OTA) and
// installation. Pure: encode, decode (with every structural check) and verify (signature, hashes).
//
//   offset  size  field
//   0       4     magic "MEB" + format version byte (0x01)
//   4       4     header length H (uint32 LE)
//   8       H     header JSON: { "format": "mobilenet-edge/bundle@1", "files": [{ "name", "size" }] }
//   8+H     …     the files' bytes, in header order, back to back
//
// The bundle always holds model.json; model.json.sig when signed; and every file the manifest
// names (model files of each engine, test vectors) — nothing else.
import { createHash, type KeyObject } from 'node:crypto';
import { parseManifest, modelFiles, ManifestError, type Manifest } from './manifest.js';
import { ManifestSignatureError, verifyManifestSignatures, type TrustedKey } from './signing.js';
import { CodedError } from './coded-error.js';

export const BUNDLE_FORMAT = 'mobilenet-edge/bundle@1';
export const BUNDLE_MAGIC = Buffer.from([0x4d, 0x45, 0x42, 0x01]); // "MEB\x01"
export const MANIFEST_NAME = 'model.json';
export const SIGNATURE_NAME = 'model.json.sig';
const MAX_HEADER = 64 * 1024;
const MAX_FILES = 64;
/** A file name inside a bundle: no path separators, no leading dot, nothing a shell or a path join could misread. */
export const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type BundleErrorCode = 'BAD_BUNDLE' | 'MANIFEST_INVALID' | 'HASH_MISMATCH' | 'UNSIGNED' | 'UNTRUSTED_KEY' | 'BAD_SIGNATURE' | 'WRONG_KEY_ROLE' | 'THRESHOLD_NOT_MET';

export class BundleError extends CodedError<BundleErrorCode> {}

export interface BundleFile {
  name: string;
  bytes: Buffer;
}

export const sha256Hex = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function encodeBundle(files: BundleFile[]): Buffer {
  for (const f of files) if (!SAFE_FILE.test(f.name)) throw new BundleError('BAD_BUNDLE', `file name ${JSON.stringify(f.name)} is not a plain file name`);
  const header = Buffer.from(JSON.stringify({ format: BUNDLE_FORMAT, files: files.map((f) => ({ name: f.name, size: f.bytes.length })) }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length, 0);
  return Buffer.concat([BUNDLE_MAGIC, len, header, ...files.map((f) => f.bytes)]);
}

/** Where one file lies in a bundle. */
export interface BundleEntry {
  name: string;
  offset: number;
  size: number;
}

/** Largest model.json (and model.json.sig) a bundle may carry: they are read whole. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_SIGNATURE_BYTES = 64 * 1024;

const badBundle = (m: string): never => {
  throw new BundleError('BAD_BUNDLE', m);
};

/** The header length from a bundle's first 8 bytes (magic + length); throws BAD_BUNDLE. */
export function bundleHeaderLength(first8: Buffer, total: number): number {
  if (total < 8 || first8.length < 8 || !first8.subarray(0, 4).equals(BUNDLE_MAGIC)) badBundle('not a model bundle (bad magic)');
  const h = first8.readUInt32LE(4);
  if (h > MAX_HEADER || 8 + h > total) badBundle(`bundle header length ${h} is out of range`);
  return h;
}

/** The files a bundle header lists, with their places in a bundle of `total` bytes; throws BAD_BUNDLE on any structural problem. */
export function bundleEntries(headerJson: Buffer, total: number): BundleEntry[] {
  let header: { format?: unknown; files?: unknown };
  try {
    header = JSON.parse(headerJson.toString('utf8'));
  } catch (e) {
    return badBundle(`bundle header is not JSON: ${(e as Error).message}`);
  }
  if (header.format !== BUNDLE_FORMAT) badBundle(`bundle format ${JSON.stringify(header.format)} is not ${BUNDLE_FORMAT}`);
  if (!Array.isArray(header.files) || header.files.length < 1 || header.files.length > MAX_FILES) badBundle(`bundle must list 1..${MAX_FILES} files`);
  const entries: BundleEntry[] = [];
  const seen = new Set<string>();
  let off = 8 + headerJson.length;
  for (const f of header.files as { name?: unknown; size?: unknown }[]) {
    if (typeof f?.name !== 'string' || !SAFE_FILE.test(f.name)) badBundle(`bundle file name ${JSON.stringify(f?.name)} is not a plain file name (path traversal?)`);
    const name = f.name as string;
    if (seen.has(name)) badBundle(`bundle lists ${name} twice`);
    seen.add(name);
    if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0 || off + f.size > total) badBundle(`bundle file ${name}: size ${JSON.stringify(f.size)} does not fit the bundle (truncated?)`);
    entries.push({ name, offset: off, size: f.size as number });
    off += f.size as number;
  }
  if (off !== total) badBundle(`bundle has ${total - off} bytes after its last file`);
  return entries;
}

/** Split a bundle into its files; throws BundleError BAD_BUNDLE on any structural problem. */
export function decodeBundle(buf: Buffer): BundleFile[] {
  const h = bundleHeaderLength(buf.subarray(0, 8), buf.length);
  return bundleEntries(buf.subarray(8, 8 + h), buf.length).map((e) => ({ name: e.name, bytes: buf.subarray(e.offset, e.offset + e.size) }));
}

export interface SignedManifest {
  manifest: Manifest;
  manifestBytes: Buffer;
  /** The (first) signer's key id; null when accepted unsigned (ota.allowUnsigned). */
  keyId: string | null;
  /** Every trusted key that signed the manifest, with its roles (empty when accepted unsigned). */
  signers: TrustedKey[];
  /** Problems let through by allowUnsigned (to be logged loudly). */
  warnings: string[];
  /** The files whose sha256 the manifest gives (model files, test vectors): each must be checked. */
  wanted: { file: string; sha256: string }[];
}

export interface VerifiedBundle extends Omit<SignedManifest, 'wanted'> {
  files: BundleFile[];
}

export interface VerifyOptions {
  trusted: readonly (KeyObject | TrustedKey)[];
  allowUnsigned: boolean;
  threshold?: number;
}

/**
 * Everything about a bundle but the hashes of its files: signatures against the trusted keys (roles
 * and the k-of-n threshold: see verifyManifestSignatures), the manifest, and the set of file names
 * (exactly those the manifest names, plus model.json and its signature). With allowUnsigned, a
 * missing, untrusted or bad signature is a warning, not an error. The caller checks each of `wanted`.
 */
export function checkManifest(manifestBytes: Buffer | undefined, sigBytes: Buffer | undefined, names: readonly string[], opts: VerifyOptions): SignedManifest {
  if (!manifestBytes) throw new BundleError('BAD_BUNDLE', `bundle has no ${MANIFEST_NAME}`);
  if (manifestBytes.length > MAX_MANIFEST_BYTES) throw new BundleError('MANIFEST_INVALID', `${MANIFEST_NAME} has ${manifestBytes.length} bytes, more than ${MAX_MANIFEST_BYTES}`);
  if (sigBytes && sigBytes.length > MAX_SIGNATURE_BYTES) throw new BundleError('BAD_BUNDLE', `${SIGNATURE_NAME} has ${sigBytes.length} bytes, more than ${MAX_SIGNATURE_BYTES}`);
  const warnings: string[] = [];
  let signers: TrustedKey[] = [];
  let sig: unknown = null;
  try {
    if (sigBytes) {
      try {
        sig = JSON.parse(sigBytes.toString('utf8'));
      } catch {
        throw new ManifestSignatureError('BAD_SIGNATURE', `${SIGNATURE_NAME} is not JSON`);
      }
    }
    signers = verifyManifestSignatures(manifestBytes, sig, opts.trusted, opts.threshold ?? 1);
  } catch (e) {
    if (!(e instanceof ManifestSignatureError)) throw e;
    if (!opts.allowUnsigned) throw new BundleError(e.code, e.message);
    warnings.push(`${e.message} — accepted only because ota.allowUnsigned is set (development only)`);
  }
  const keyId = signers.find((k) => k.roles.includes('model'))?.keyId ?? null;
  let manifest: Manifest;
  try {
    manifest = parseManifest(JSON.parse(manifestBytes.toString('utf8')), MANIFEST_NAME);
  } catch (e) {
    throw new BundleError('MANIFEST_INVALID', e instanceof ManifestError ? e.message : `${MANIFEST_NAME} is not JSON: ${(e as Error).message}`);
  }
  const wanted = [...modelFiles(manifest).map((r) => ({ file: r.file, sha256: r.sha256 })), ...(manifest.tests ?? []).map((t) => ({ file: t.file, sha256: t.sha256 }))];
  const wantedNames = new Set(wanted.map((w) => w.file));
  if (wantedNames.has(MANIFEST_NAME) || wantedNames.has(SIGNATURE_NAME)) throw new BundleError('MANIFEST_INVALID', `the manifest names a reserved file (${MANIFEST_NAME} / ${SIGNATURE_NAME})`);
  for (const n of names) if (n !== MANIFEST_NAME && n !== SIGNATURE_NAME && !wantedNames.has(n)) throw new BundleError('BAD_BUNDLE', `bundle file ${n} is not named by the manifest`);
  for (const w of wanted) if (!names.includes(w.file)) throw new BundleError('BAD_BUNDLE', `the manifest names ${w.file}, which is not in the bundle`);
  return { manifest, manifestBytes, keyId, signers, warnings, wanted };
}

/** The one message for a file whose bytes are not the ones the manifest signed. */
export const hashMismatch = (file: string, got: string, want: string) => new BundleError('HASH_MISMATCH', `${file} has sha256 ${got} but the manifest says ${want}`);

/**
 * Check a decoded bundle held in memory: checkManifest, then each file's sha256. (A staged bundle on
 * disk is checked without reading it whole: bundle-source.ts verifyBundleSource.)
 */
export function verifyBundle(files: BundleFile[], opts: VerifyOptions): VerifiedBundle {
  const byName = new Map(files.map((f) => [f.name, f.bytes]));
  const { wanted, ...signed } = checkManifest(byName.get(MANIFEST_NAME), byName.get(SIGNATURE_NAME), files.map((f) => f.name), opts);
  for (const w of wanted) {
    const got = sha256Hex(byName.get(w.file)!);
    if (got !== w.sha256) throw hashMismatch(w.file, got, w.sha256);
  }
  return { ...signed, files };
}
