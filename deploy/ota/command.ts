// Signed plain MQTT commands (rollback): the operator signs {cmd, site, deviceId, requestId, ts, nonce}
// with an ed25519 key whose role is "command" (models/signing.ts, its own domain separation); the device
// accepts a command only when it verifies against ota.trustedKeys (role "command"), names this device, is fresh
// (|now - ts| within the window) and its nonce was not seen within the window. Pure.
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { signCommandBytes, SignatureError, verifyCommandBytes, type TrustedKey } from '../../models/signing.js';
import { TRANSFER_ID } from './protocol.js';

export const COMMAND_FORMAT = 'mobilenet-edge/command@1';
export type CommandName = 'rollback';

export interface CommandBody {
  cmd: CommandName;
  site: string;
  deviceId: string;
  requestId: string;
  /** ms since the epoch, when it was signed */
  ts: number;
  /** 16 random bytes, hex */
  nonce: string;
}

/** What travels: the body as a JSON string (the exact signed bytes), and the signature. */
export interface SignedCommand {
  format: typeof COMMAND_FORMAT;
  body: string;
  keyId: string;
  sig: string;
}

export function signCommand(b: Omit<CommandBody, 'ts' | 'nonce'> & Partial<Pick<CommandBody, 'ts' | 'nonce'>>, privateKey: KeyObject): string {
  const body: CommandBody = { cmd: b.cmd, site: b.site, deviceId: b.deviceId, requestId: b.requestId, ts: b.ts ?? Date.now(), nonce: b.nonce ?? randomBytes(16).toString('hex') };
  const bodyText = JSON.stringify(body);
  const s = signCommandBytes(Buffer.from(bodyText, 'utf8'), privateKey);
  const msg: SignedCommand = { format: COMMAND_FORMAT, body: bodyText, keyId: s.keyId, sig: s.sig };
  return JSON.stringify(msg);
}

/**
 * Remembers nonces for the length of the window. A command is fresh when ts is within maxAgeMs in
 * the past and maxSkewMs in the future; a nonce seen before within the window is a replay.
 * entries() / the `initial` argument carry the memory across restarts (the device keeps them in
 * its state directory), so a command captured before a restart cannot be replayed after it.
 */
export class ReplayWindow {
  private readonly seen = new Map<string, number>();
  constructor(
    readonly maxAgeMs: number,
    readonly maxSkewMs = 30_000,
    /** [nonce, remembered until (ms since the epoch)] from an earlier run; malformed pairs are skipped. */
    initial: readonly unknown[] = [],
  ) {
    for (const e of initial) if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' && Number.isFinite(e[1])) this.seen.set(e[0], e[1]);
  }

  /** The nonces still remembered at `now`, as [nonce, until] pairs (what to persist). */
  entries(now: number): [string, number][] {
    return [...this.seen].filter(([, until]) => until >= now);
  }

  check(ts: number, nonce: string, now: number): { ok: true } | { ok: false; code: 'STALE_COMMAND' | 'REPLAYED'; message: string } {
    for (const [n, until] of this.seen) if (until < now) this.seen.delete(n);
    if (!Number.isFinite(ts) || now - ts > this.maxAgeMs) return { ok: false, code: 'STALE_COMMAND', message: `command signed ${Math.round((now - ts) / 1000)} s ago; older than ${this.maxAgeMs / 1000} s is refused (replay, or clocks apart)` };
    if (ts - now > this.maxSkewMs) return { ok: false, code: 'STALE_COMMAND', message: `command dated ${Math.round((ts - now) / 1000)} s in the future; more than ${this.maxSkewMs / 1000} s is refused (check the clocks)` };
    if (this.seen.has(nonce)) return { ok: false, code: 'REPLAYED', message: `command nonce ${nonce.slice(0, 8)}… was already used: replay refused` };
    this.seen.set(nonce, ts + this.maxAgeMs + this.maxSkewMs);
    return { ok: true };
  }

  get size(): number {
    return this.seen.size;
  }
}

export type CommandCheck =
  | { ok: true; body: CommandBody; keyId: string }
  | { ok: false; code: 'UNSIGNED' | 'UNTRUSTED_KEY' | 'BAD_SIGNATURE' | 'WRONG_KEY_ROLE' | 'BAD_COMMAND' | 'STALE_COMMAND' | 'REPLAYED'; message: string; requestId?: string };

/** Verify a command message for this device. The nonce is recorded only for commands that verify. */
export function checkCommand(payload: Buffer, expect: { cmd: CommandName; site: string; deviceId: string }, trusted: readonly (KeyObject | TrustedKey)[], replay: ReplayWindow, now: number): CommandCheck {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(payload.toString('utf8'));
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object');
  } catch {
    return { ok: false, code: 'BAD_COMMAND', message: 'command is not a JSON object' };
  }
  const plainId = typeof msg.requestId === 'string' && TRANSFER_ID.test(msg.requestId) ? msg.requestId : undefined;
  if (msg.format !== COMMAND_FORMAT || typeof msg.body !== 'string') {
    const signedBits = msg.keyId !== undefined || msg.sig !== undefined;
    return { ok: false, code: signedBits ? 'BAD_COMMAND' : 'UNSIGNED', message: signedBits ? `command is not in format ${COMMAND_FORMAT}` : `unsigned command refused: sign it (edgectl ${expect.cmd} --key KEY.pem)`, requestId: plainId };
  }
  let body: CommandBody;
  try {
    body = JSON.parse(msg.body);
  } catch {
    return { ok: false, code: 'BAD_COMMAND', message: 'command body is not JSON' };
  }
  const requestId = typeof body?.requestId === 'string' && TRANSFER_ID.test(body.requestId) ? body.requestId : undefined;
  let keyId: string;
  try {
    keyId = verifyCommandBytes(Buffer.from(msg.body, 'utf8'), msg.keyId, msg.sig, trusted);
  } catch (e) {
    if (e instanceof SignatureError && (e.code === 'UNSIGNED' || e.code === 'UNTRUSTED_KEY' || e.code === 'BAD_SIGNATURE' || e.code === 'WRONG_KEY_ROLE')) return { ok: false, code: e.code, message: e.message, requestId };
    throw e;
  }
  if (!requestId || typeof body.ts !== 'number' || typeof body.nonce !== 'string' || !/^[0-9a-f]{16,64}$/.test(body.nonce))
    return { ok: false, code: 'BAD_COMMAND', message: 'signed command lacks requestId, ts or nonce', requestId };
  if (body.cmd !== expect.cmd || body.site !== expect.site || body.deviceId !== expect.deviceId)
    return { ok: false, code: 'BAD_COMMAND', message: `signed command is ${body.cmd} for ${body.site}/${body.deviceId}, not ${expect.cmd} for ${expect.site}/${expect.deviceId}`, requestId };
  const r = replay.check(body.ts, body.nonce, now);
  if (!r.ok) return { ...r, requestId };
  return { ok: true, body, keyId };
}
