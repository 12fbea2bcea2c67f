// Manifest signatures: ed25519 (node:crypto) over the exact bytes of model.json.
// Pure apart from key generation; no file access here (callers read and write the PEM files).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { CodedError } from './coded-error.js';

export const SIGNATURE_FORMAT = 'mobilenet-edge/signature@1';
/** Domain separation: a signature over a manifest can never be mistaken for one over anything else. */
const CONTEXT = Buffer.from('mobilenet-edge manifest v1\n', 'utf8');

/** The signature file (model.json.sig) beside a signed manifest. */
export interface Signature {
  format: string;
  alg: 'ed25519';
  /** keyIdOf(the signer's public key). */
  keyId: string;
  /** base64 of the 64-byte ed25519 signature over CONTEXT + manifest bytes. */
  sig: string;
}

export class SignatureError extends CodedError<'UNSIGNED' | 'UNTRUSTED_KEY' | 'BAD_SIGNATURE' | 'BAD_KEY' | 'WRONG_KEY_ROLE'> {}

export function generateKeys(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** A public key from a PEM (SPKI) string; throws SignatureError BAD_KEY if it is not an ed25519 key. */
export function publicKeyFromPem(pem: string): KeyObject {
  let k: KeyObject;
  try {
    k = createPublicKey(pem);
  } catch (e) {
    throw new SignatureError('BAD_KEY', `not a public key: ${(e as Error).message}`);
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new SignatureError('BAD_KEY', `expected an ed25519 key, got ${k.asymmetricKeyType}`);
  return k;
}

export function privateKeyFromPem(pem: string): KeyObject {
  let k: KeyObject;
  try {
    k = createPrivateKey(pem);
  } catch (e) {
    throw new SignatureError('BAD_KEY', `not a private key: ${(e as Error).message}`);
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new SignatureError('BAD_KEY', `expected an ed25519 key, got ${k.asymmetricKeyType}`);
  return k;
}

/** First 16 hex digits of sha256 over the key's SPKI DER: short, stable, shown in logs and state. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function signManifest(manifestBytes: Buffer, privateKey: KeyObject): Signature {
  const sig = sign(null, Buffer.concat([CONTEXT, manifestBytes]), privateKey);
  return { format: SIGNATURE_FORMAT, alg: 'ed25519', keyId: keyIdOf(privateKey), sig: sig.toString('base64') };
}

/** Parse a model.json.sig; throws SignatureError BAD_SIGNATURE when it is malformed. */
export function parseSignature(raw: unknown): Signature {
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== SIGNATURE_FORMAT || o.alg !== 'ed25519' || typeof o.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(o.keyId) || typeof o.sig !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(o.sig))
    throw new SignatureError('BAD_SIGNATURE', `malformed signature: expected {format: "${SIGNATURE_FORMAT}", alg: "ed25519", keyId: 16 hex, sig: base64 of 64 bytes}`);
  return { format: o.format, alg: 'ed25519', keyId: o.keyId, sig: o.sig };
}

/** What a trusted key may sign (ota.trustedKeys): model bundles, operator commands, bundles that go back a version. */
export type KeyRole = 'model' | 'command' | 'downgrade';
export const KEY_ROLES: readonly KeyRole[] = ['model', 'command', 'downgrade'];
/** A key listed without roles (the form from before roles existed) may sign models and commands. */
export const LEGACY_ROLES: readonly KeyRole[] = ['model', 'command'];

export interface TrustedKey {
  key: KeyObject;
  keyId: string;
  roles: readonly KeyRole[];
}

export function trustedKey(key: KeyObject, roles: readonly KeyRole[] = LEGACY_ROLES): TrustedKey {
  return { key, keyId: keyIdOf(key), roles };
}

/** Plain KeyObjects are keys with the legacy roles. */
export function asTrusted(keys: readonly (KeyObject | TrustedKey)[]): TrustedKey[] {
  return keys.map((k) => ('roles' in k && 'keyId' in k ? (k as TrustedKey) : trustedKey(k as KeyObject)));
}

/** model.json.sig holds one signature object, or an array of them (k-of-n thresholds). */
export function parseSignatures(raw: unknown): Signature[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length < 1 || list.length > 16) throw new SignatureError('BAD_SIGNATURE', 'model.json.sig must hold 1..16 signatures');
  const out = list.map(parseSignature);
  if (new Set(out.map((s) => s.keyId)).size !== out.length) throw new SignatureError('BAD_SIGNATURE', 'model.json.sig lists a key twice');
  return out;
}

export type ManifestCheckCode = 'UNSIGNED' | 'UNTRUSTED_KEY' | 'BAD_SIGNATURE' | 'WRONG_KEY_ROLE' | 'THRESHOLD_NOT_MET';
export class ManifestSignatureError extends CodedError<ManifestCheckCode> {}

/**
 * Check a manifest's signatures against the trusted keys: every signature by a trusted key must
 * verify (else BAD_SIGNATURE); at least one trusted signer (UNTRUSTED_KEY), at least one with role
 * "model" (WRONG_KEY_ROLE), and at least `threshold` of them (THRESHOLD_NOT_MET). Signatures by
 * unknown keys are ignored. Returns the trusted signers.
 */
export function verifyManifestSignatures(manifestBytes: Buffer, raw: unknown, trusted: readonly (KeyObject | TrustedKey)[], threshold = 1): TrustedKey[] {
  if (raw === null || raw === undefined) throw new ManifestSignatureError('UNSIGNED', 'the bundle is not signed');
  let sigs: Signature[];
  try {
    sigs = parseSignatures(raw);
  } catch (e) {
    throw new ManifestSignatureError('BAD_SIGNATURE', (e as Error).message);
  }
  const keys = asTrusted(trusted);
  const signers: TrustedKey[] = [];
  for (const s of sigs) {
    const k = keys.find((t) => t.keyId === s.keyId);
    if (!k) continue;
    if (!verify(null, Buffer.concat([CONTEXT, manifestBytes]), k.key, Buffer.from(s.sig, 'base64')))
      throw new ManifestSignatureError('BAD_SIGNATURE', `the signature by key ${s.keyId} does not match the manifest (tampered after signing?)`);
    signers.push(k);
  }
  const ids = sigs.map((s) => s.keyId).join(', ');
  if (!signers.length) throw new ManifestSignatureError('UNTRUSTED_KEY', `signed by key ${ids}, which is not among the ${keys.length} trusted key(s) (ota.trustedKeys)`);
  const models = signers.filter((k) => k.roles.includes('model'));
  if (!models.length) throw new ManifestSignatureError('WRONG_KEY_ROLE', `signed by trusted key ${signers.map((k) => `${k.keyId} (roles: ${k.roles.join(', ')})`).join(', ')}, but a model bundle needs a key with role "model"`);
  if (models.length < threshold) throw new ManifestSignatureError('THRESHOLD_NOT_MET', `signed by ${models.length} trusted model key(s) (${models.map((k) => k.keyId).join(', ')}); ota.modelThreshold asks for ${threshold} different ones`);
  return signers;
}

/**
 * Check a manifest's signature against the trusted keys. Returns the signer's key id.
 * Throws SignatureError: UNSIGNED (no signature), UNTRUSTED_KEY (signer not in `trusted`),
 * BAD_SIGNATURE (malformed, or does not verify: tampered after signing or forged).
 */
export function verifyManifest(manifestBytes: Buffer, signature: unknown, trusted: KeyObject[]): string {
  if (signature === null || signature === undefined) throw new SignatureError('UNSIGNED', 'the bundle is not signed');
  const s = parseSignature(signature);
  const key = trusted.find((k) => keyIdOf(k) === s.keyId);
  if (!key) throw new SignatureError('UNTRUSTED_KEY', `signed by key ${s.keyId}, which is not among the ${trusted.length} trusted key(s) (ota.trustedKeys)`);
  if (!verify(null, Buffer.concat([CONTEXT, manifestBytes]), key, Buffer.from(s.sig, 'base64')))
    throw new SignatureError('BAD_SIGNATURE', `the signature by key ${s.keyId} does not match the manifest (tampered after signing?)`);
  return s.keyId;
}

// ---- Signed commands (rollback, status requests sent as plain MQTT messages)

/** Domain separation from manifests: a manifest signature never verifies as a command and vice versa. */
const COMMAND_CONTEXT = Buffer.from('mobilenet-edge command v1\n', 'utf8');

/** ed25519 over COMMAND_CONTEXT + `body` (the exact bytes that travel). Returns {keyId, sig}. */
export function signCommandBytes(body: Buffer, privateKey: KeyObject): { keyId: string; sig: string } {
  return { keyId: keyIdOf(privateKey), sig: sign(null, Buffer.concat([COMMAND_CONTEXT, body]), privateKey).toString('base64') };
}

/**
 * Check a command signature; returns the signer's key id. Throws SignatureError UNSIGNED,
 * UNTRUSTED_KEY or BAD_SIGNATURE like verifyManifest, and WRONG_KEY_ROLE when the trusted signer
 * lacks the role "command".
 */
export function verifyCommandBytes(body: Buffer, keyId: unknown, sig: unknown, trusted: readonly (KeyObject | TrustedKey)[]): string {
  if (keyId === undefined && sig === undefined) throw new SignatureError('UNSIGNED', 'the command is not signed');
  if (typeof keyId !== 'string' || !/^[0-9a-f]{16}$/.test(keyId) || typeof sig !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(sig))
    throw new SignatureError('BAD_SIGNATURE', 'malformed command signature: expected keyId (16 hex) and sig (base64 of 64 bytes)');
  const keys = asTrusted(trusted);
  const key = keys.find((k) => k.keyId === keyId);
  if (!key) throw new SignatureError('UNTRUSTED_KEY', `command signed by key ${keyId}, which is not among the ${keys.length} trusted key(s)`);
  if (!verify(null, Buffer.concat([COMMAND_CONTEXT, body]), key.key, Buffer.from(sig, 'base64')))
    throw new SignatureError('BAD_SIGNATURE', `the command signature by key ${keyId} does not match (tampered?)`);
  if (!key.roles.includes('command')) throw new SignatureError('WRONG_KEY_ROLE', `command signed by trusted key ${keyId} (roles: ${key.roles.join(', ')}), which lacks the role "command"`);
  return keyId;
}
