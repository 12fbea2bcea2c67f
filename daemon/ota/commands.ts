// Signed operator commands over MQTT (model/rollback): only a command signed by a trusted key with
// the role "command", for this site and device, fresh, and with a nonce never seen (kept on disk
// before the command runs: nonce-file.ts) is carried out. deploy/ota/command.ts checks the message.
import { join } from 'node:path';
import { checkCommand, ReplayWindow } from '../../deploy/ota/command.js';
import type { TrustedKey } from '../../models/signing.js';
import type { ResultCode } from '../../deploy/ota/protocol.js';
import type { Logger } from '../log.js';
import { NonceFile } from './nonce-file.js';

export interface CommandDeps {
  /** Carry out a verified rollback; answers on model/result/{requestId} itself. */
  rollback(reason: string, requestId: string): void;
  /** Answer a refused command. */
  refuse(requestId: string, code: ResultCode, message: string): void;
}

export class CommandHandler {
  private readonly replay: ReplayWindow;
  private readonly nonces: NonceFile;

  constructor(
    private readonly o: { site: string; deviceId: string; stateDir: string; commandMaxAgeSec?: number; trusted: TrustedKey[] },
    private readonly deps: CommandDeps,
    private readonly log: Logger,
  ) {
    this.nonces = new NonceFile(join(o.stateDir, 'command-nonces.json'), log);
    this.replay = new ReplayWindow((o.commandMaxAgeSec ?? 60) * 1000, undefined, this.nonces.read());
  }

  onRollback(buf: Buffer): void {
    const c = checkCommand(buf, { cmd: 'rollback', site: this.o.site, deviceId: this.o.deviceId }, this.o.trusted, this.replay, Date.now());
    if (!c.ok) {
      this.log.warn('ota: rollback command refused', { code: c.code, reason: c.message });
      if (c.requestId) this.deps.refuse(c.requestId, c.code, `rollback refused: ${c.message}`);
      return;
    }
    try {
      this.nonces.write(this.replay.entries(Date.now()));
    } catch (e) {
      // without the record a replay after a restart would pass: refuse rather than run unrecorded
      this.log.error('ota: cannot record the command nonce; rollback refused', { file: this.nonces.file, err: (e as Error).message });
      this.deps.refuse(c.body.requestId, 'INTERNAL', `rollback refused: cannot record the command nonce in ${this.nonces.file}: ${(e as Error).message}`);
      return;
    }
    this.deps.rollback(`requested by operator (key ${c.keyId})`, c.body.requestId);
  }
}
