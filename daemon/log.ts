// Structured JSON logs, one object per line on stdout (journald keeps them). Small on purpose.
import { isSecretKey, maskUrlPasswords } from './secrets.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

import type { Logger } from '../pipelines/log.js';
export type { Logger };

/** Secret-named keys are never logged; URL passwords (scheme://user:pass@) are masked in any string. */
export function redact(key: string, value: unknown): unknown {
  if (value instanceof Error) value = value.message;
  if (typeof value !== 'string') return value;
  if (value && isSecretKey(key)) return '********';
  return maskUrlPasswords(value);
}

export function createLogger(level: Level, write: (line: string) => void = (l) => process.stdout.write(l), bindings: Record<string, unknown> = {}): Logger {
  const min = RANK[level];
  const emit = (lv: Level, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lv] < min) return;
    const rec = { time: new Date().toISOString(), level: lv, ...bindings, msg, ...fields };
    write(JSON.stringify(rec, redact) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger(level, write, { ...bindings, ...b }),
  };
}
