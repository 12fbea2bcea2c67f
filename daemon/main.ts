#!/usr/bin/env -S node --min-semi-space-size=16
// mobilenet-edge: the daemon's command line.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { packageRoot as findPackageRoot } from '../models/paths.js';
import { startApp } from './app.js';
import { loadConfig, ConfigError } from './config/config.js';
import { checkConfig, checkConnect, printConfig, EX_CONFIG } from './config/cli.js';
import { createLogger } from './log.js';
import { prepareAll } from './prepare.js';

const packageRoot = findPackageRoot();

const USAGE = `usage: mobilenet-edge [--config FILE] [--prepare] [--check-config FILE [--connect]] [--print-config] [--version]

  (no options)          run on the embedded default: bundled model, demo clip, embedded MQTT broker
  --config FILE         run with this JSON config (env MOBILENET_EDGE_* overrides keys)
  --check-config FILE   validate FILE, print every problem with its key path; exit 78 if invalid
                        (--config FILE --check-config checks the --config file)
    --connect           then connect to the broker: exit 78 with the reason (certificate, credentials,
                        not authorized) or 69 when it cannot be reached
  --prepare             build and cache the engines of every model (TensorRT: minutes each) and
                        exit: 0 when every model loads (deploy/install.sh runs it; also after an OTA install)
  --print-config        print the effective config (secrets masked) and exit
  --version             print the version`;

function parseArgs(argv: string[]): { config?: string; check?: string; connect: boolean; print: boolean; prepare: boolean; help: boolean; version: boolean } {
  const a = { connect: false, print: false, prepare: false, help: false, version: false } as ReturnType<typeof parseArgs>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (!v) throw new Error(`${arg} needs a file`);
      return v;
    };
    if (arg === '--config' || arg === '-c') a.config = value();
    else if (arg.startsWith('--config=')) a.config = arg.slice(9);
    // `--check-config FILE`, or `--config FILE --check-config` (the file given with --config)
    else if (arg === '--check-config') a.check = argv[i + 1] && !argv[i + 1].startsWith('-') ? argv[++i] : '';
    else if (arg === '--print-config') a.print = true;
    else if (arg === '--prepare') a.prepare = true;
    else if (arg === '--connect') a.connect = true;
    else if (arg === '--help' || arg === '-h') a.help = true;
    else if (arg === '--version') a.version = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (a.check === '') {
    if (!a.config) throw new Error('--check-config needs a file: mobilenet-edge --check-config FILE (or --config FILE --check-config)');
    a.check = a.config;
  } else if (a.check !== undefined && a.config !== undefined && a.check !== a.config) throw new Error(`--check-config ${a.check} and --config ${a.config} name different files: give one`);
  return a;
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 64;
  }
  const out = (l: string) => process.stdout.write(l + '\n');
  if (args.help) return out(USAGE), 0;
  if (args.version) return out(JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version), 0;
  if (args.connect && !args.check) throw new Error('--connect goes with --check-config FILE');
  if (args.check) return args.connect ? checkConnect(args.check, packageRoot, out, process.env) : checkConfig(args.check, packageRoot, out, process.env);
  if (args.print) return printConfig(args.config, packageRoot, out, process.env);

  let config;
  try {
    config = loadConfig({ file: args.config, env: process.env, packageRoot, warn: (w) => process.stderr.write(`config warning: ${w}\n`) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) process.stderr.write(`config error: ${p.path}: ${p.message}\n`);
    return EX_CONFIG;
  }
  if (args.prepare) return prepareAll(config, out);
  const log = createLogger(config.log.level);
  log.info('mobilenet-edge starting', { config: args.config ?? '(embedded default)', site: config.site, deviceId: config.deviceId, cameras: config.cameras.map((c) => c.id) });
  const app = await startApp(config, log, { logResults: !args.config, env: process.env });
  installTestHooks(process.env, log, app);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      const force = setTimeout(() => resolve(1), 5000);
      force.unref();
      app.stop().then(
        () => {
          clearTimeout(force);
          log.info('stopped');
          resolve(0);
        },
        (e) => {
          log.error('stop failed', { err: (e as Error).message });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * For the fault-injection tests only (MOBILENET_EDGE_TEST_HOOKS, comma-separated; never set in production):
 * - block-event-loop: SIGUSR2 blocks the event loop for MOBILENET_EDGE_TEST_BLOCK_MS (default 10000), a
 *   hang in the supervisor itself, which only systemd's watchdog can catch;
 * - kill-frame-reader: SIGUSR2 ends the frame reader as a crash would (it has no pid for a test to
 *   kill: it runs in the supervisor, D174).
 */
function installTestHooks(env: NodeJS.ProcessEnv, log: ReturnType<typeof createLogger>, app: Awaited<ReturnType<typeof startApp>>): void {
  const hooks = (env.MOBILENET_EDGE_TEST_HOOKS ?? '').split(',');
  if (hooks.includes('kill-frame-reader')) {
    log.warn('TEST HOOK enabled: SIGUSR2 kills the frame reader');
    process.on('SIGUSR2', () => {
      log.warn('TEST HOOK: killing the frame reader');
      app.frames.kill();
    });
  }
  if (!hooks.includes('block-event-loop')) return;
  const ms = Number(env.MOBILENET_EDGE_TEST_BLOCK_MS ?? 10000);
  log.warn('TEST HOOK enabled: SIGUSR2 blocks the event loop', { ms });
  process.on('SIGUSR2', () => {
    log.warn('TEST HOOK: blocking the event loop', { ms });
    const end = Date.now() + ms;
    while (Date.now() < end) {
      /* busy: nothing else runs */
    }
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`mobilenet-edge: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
