// Which ffmpeg to run: the configured one, else the system's, else the one shipped in an npm package.
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

export function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | null {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

export function resolveFfmpeg(configured: string, pathEnv = process.env.PATH ?? ''): { path: string; origin: 'config' | 'system' | 'npm' } {
  if (configured) return { path: configured, origin: 'config' };
  const sys = findOnPath('ffmpeg', pathEnv);
  if (sys) return { path: sys, origin: 'system' };
  try {
    const require = createRequire(import.meta.url);
    const pkg = require('@ffmpeg-installer/ffmpeg') as { path: string };
    accessSync(pkg.path, constants.X_OK);
    return { path: pkg.path, origin: 'npm' };
  } catch (e) {
    throw new Error(`no ffmpeg found: none on PATH and the bundled @ffmpeg-installer/ffmpeg is not usable (${(e as Error).message}); install ffmpeg or set source.ffmpegPath`);
  }
}
