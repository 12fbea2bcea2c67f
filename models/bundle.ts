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

/** Split a bundle into its files; throws BundleError BAD_BUNDLE on any structural problem. */
export function decodeBundle(buf: Buffer): BundleFile[] {
  const bad = (m: string): never => {
    throw new BundleError('BAD_BUNDLE', m);
  };
  if (buf.length < 8 || !buf.subarray(0, 4).equals(BUNDLE_MAGIC)) bad('not a model bundle (bad magic)');
  const h = buf.readUInt32LE(4);
  if (h > MAX_HEADER || 8 + h > buf.length) bad(`bundle header length ${h} is out of range`);
  let header: { format?: unknown; files?: unknown };
  try {
    header = JSON.parse(buf.subarray(8, 8 + h).toString('utf8'));
  } catch (e) {
    return bad(`bundle header is not JSON: ${(e as Error).message}`);
  }
  if (header.format !== BUNDLE_FORMAT) bad(`bundle format ${JSON.stringify(header.format)} is not ${BUNDLE_FORMAT}`);
  if (!Array.isArray(header.files) || header.files.length < 1 || header.files.length > MAX_FILES) bad(`bundle must list 1..${MAX_FILES} files`);
  const files: BundleFile[] = [];
  const seen = new Set<string>();
  let off = 8 + h;
  for (const f of header.files as { name?: unknown; size?: unknown }[]) {
    if (typeof f?.name !== 'string' || !SAFE_FILE.test(f.name)) bad(`bundle file name ${JSON.stringify(f?.name)} is not a plain file name (path traversal?)`);
    const name = f.name as string;
    if (seen.has(name)) bad(`bundle lists ${name} twice`);
    seen.add(name);
    if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0 || off + f.size > buf.length) bad(`bundle file ${name}: size ${JSON.stringify(f.size)} does not fit the bundle (truncated?)`);
    files.push({ name, bytes: buf.subarray(off, off + (f.size as number)) });
    off += f.size as number;
  }
  if (off !== buf.length) bad(`bundle has ${buf.length - off} bytes after its last file`);
  return files;
}

export interface VerifiedBundle {
  manifest: Manifest;
  manifestBytes: Buffer;
  /** The (first) signer's key id; null when accepted unsigned (ota.allowUnsigned). */
  keyId: string | null;
  /** Every trusted key that signed the manifest, with its roles (empty when accepted unsigned). */
  signers: TrustedKey[];
  files: BundleFile[];
  /** Problems let through by allowUnsigned (to be logged loudly). */
  warnings: string[];
}

/**
 * Check a decoded bundle: signatures against the trusted keys (roles and the k-of-n threshold: see
 * verifyManifestSignatures), the manifest, the set of files (exactly those the manifest names, plus
 * model.json and its signature) and each file's sha256. With allowUnsigned, a missing, untrusted or
 * bad signature is a warning, not an error; hashes are always checked.
 */
export function verifyBundle(files: BundleFile[], opts: { trusted: readonly (KeyObject | TrustedKey)[]; allowUnsigned: boolean; threshold?: number }): VerifiedBundle {
  const byName = new Map(files.map((f) => [f.name, f.bytes]));
  const manifestBytes = byName.get(MANIFEST_NAME);
  if (!manifestBytes) throw new BundleError('BAD_BUNDLE', `bundle has no ${MANIFEST_NAME}`);
  const warnings: string[] = [];
  let signers: TrustedKey[] = [];
  let sig: unknown = null;
  const sigBytes = byName.get(SIGNATURE_NAME);
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
  const wanted = [...modelFiles(manifest).map((r) => ({ file: r.file, sha256: r.sha256 })), ...(manifest.tests ?? [])];
  const wantedNames = new Set(wanted.map((w) => w.file));
  if (wantedNames.has(MANIFEST_NAME) || wantedNames.has(SIGNATURE_NAME)) throw new BundleError('MANIFEST_INVALID', `the manifest names a reserved file (${MANIFEST_NAME} / ${SIGNATURE_NAME})`);
  for (const f of files)
    if (f.name !== MANIFEST_NAME && f.name !== SIGNATURE_NAME && !wantedNames.has(f.name)) throw new BundleError('BAD_BUNDLE', `bundle file ${f.name} is not named by the manifest`);
  for (const w of wanted) {
    const bytes = byName.get(w.file);
    if (!bytes) throw new BundleError('BAD_BUNDLE', `the manifest names ${w.file}, which is not in the bundle`);
    const got = sha256Hex(bytes);
    if (got !== w.sha256) throw new BundleError('HASH_MISMATCH', `${w.file} has sha256 ${got} but the manifest says ${w.sha256}`);
  }
  return { manifest, manifestBytes, keyId, signers, files, warnings };
}
