// `mobilenet-edge --check-config <file>` and `--print-config [file]`.
// Output goes through `out` (one call per line); the caller turns the return value into the exit code.

import { loadConfig, maskSecrets, ConfigError, type Config } from './config.js';

/** sysexits.h EX_CONFIG: configuration error. */
export const EX_CONFIG = 78;

function load(file: string | undefined, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv, warn = out): Config | undefined {
  try {
    return loadConfig({ file, packageRoot, env, warn: (w) => warn(`config warning: ${w}`) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) out(`config error: ${p.path}: ${p.message}`);
    return undefined;
  }
}

/** Validate a config file: prints "config OK: <file>" and returns 0, or one "config error: <path>: <message>" line per problem and returns 78. */
export function checkConfig(file: string, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv): number {
  if (!load(file, packageRoot, out, env)) return EX_CONFIG;
  out(`config OK: ${file}`);
  return 0;
}

/** Print the effective config (defaults < file < env) as pretty JSON with secrets masked; 78 with the problems printed on error. */
export function printConfig(file: string | undefined, packageRoot: string, out: (line: string) => void, env?: NodeJS.ProcessEnv): number {
  const c = load(file, packageRoot, out, env, (w) => process.stderr.write(w + '\n'));
  if (!c) return EX_CONFIG;
  for (const line of JSON.stringify(maskSecrets(c), null, 2).split('\n')) out(line);
  return 0;
}
