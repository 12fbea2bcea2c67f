// A small lifecycle container: parts start in order and stop in reverse; a part that fails to start
// stops every part started before it (in reverse) and the error goes to the caller.
import type { Logger } from './log.js';

interface Started {
  name: string;
  stop: () => Promise<void> | void;
}

export class Lifecycle {
  private started: Started[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly log: Pick<Logger, 'error' | 'debug'>) {}

  /**
   * Start one part: `start` makes and starts it, `stop` stops what it returned. If `start` throws,
   * everything started so far is stopped (in reverse) and the error is rethrown, naming the part.
   */
  async add<T>(name: string, start: () => Promise<T> | T, stop: (part: T) => Promise<void> | void): Promise<T> {
    if (this.stopping) throw new Error(`cannot start ${name}: stopping`);
    let part: T;
    try {
      part = await start();
    } catch (e) {
      this.log.error('start failed, stopping what already started', { part: name, err: (e as Error).message, started: this.names });
      await this.stop();
      throw e;
    }
    this.started.push({ name, stop: () => stop(part) });
    return part;
  }

  /** Names of the parts running, in start order. */
  get names(): string[] {
    return this.started.map((s) => s.name);
  }

  /** Stop every started part, last first; a part that fails to stop is logged and the rest still stop. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      while (this.started.length) {
        const s = this.started.pop()!;
        try {
          await s.stop();
          this.log.debug('stopped', { part: s.name });
        } catch (e) {
          this.log.error('stop failed', { part: s.name, err: (e as Error).message });
        }
      }
    })();
    return this.stopping;
  }
}
