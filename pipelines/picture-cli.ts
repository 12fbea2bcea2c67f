// What the picture commands (annotate-main.ts, scenes-main.ts) share: the faces options on their
// command line, a picture read as RGB24, an engine worker with the classifier and detector loaded,
// and how they exit (64 bad usage, 65 a picture that cannot be read, 1 anything else).
import sharp, { type OutputInfo } from 'sharp';
import { FRAME_LABEL_MIN_FACE } from './face-events.js';
import { EngineWorker } from './engines/client.js';
import type { FacesOptions } from './engines/protocol.js';

/** parseArgs options both commands take. */
export const PICTURE_OPTIONS = {
  model: { type: 'string' },
  detector: { type: 'string' },
  margin: { type: 'string' },
  'score-threshold': { type: 'string' },
  'iou-threshold': { type: 'string' },
  'max-faces': { type: 'string' },
  'min-face-size': { type: 'string' },
  'frame-label-min-face': { type: 'string' },
} as const;

/** An exit with a message for stderr: bad usage (64) or an unreadable picture (65). */
export class CliExit extends Error {
  constructor(
    readonly code: 64 | 65,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The faces request's options and the frame label's smallest face from parsed `values`. Throws CliExit
 * 64 when --frame-label-min-face is not a number ≥ 0. Pure.
 */
export function facesArgs(values: { [K in keyof typeof PICTURE_OPTIONS]?: string }): { opts: FacesOptions; minLabelFace: number } {
  const num = (k: keyof typeof PICTURE_OPTIONS) => (values[k] === undefined ? undefined : Number(values[k]));
  const opts: FacesOptions = {};
  for (const [k, v] of [['margin', num('margin')], ['scoreThreshold', num('score-threshold')], ['iouThreshold', num('iou-threshold')], ['maxFaces', num('max-faces')], ['minFaceSize', num('min-face-size')]] as const)
    if (v !== undefined) opts[k] = v;
  // faces shorter than this make the frame label only when no face is taller (D121); 0 = every face
  const minLabelFace = num('frame-label-min-face') ?? FRAME_LABEL_MIN_FACE;
  if (!(minLabelFace >= 0)) throw new CliExit(64, `--frame-label-min-face must be a number ≥ 0, got ${values['frame-label-min-face']}`);
  return { opts, minLabelFace };
}

/** `file` as RGB24 pixels, upright (EXIF orientation applied); CliExit 65 naming it when it cannot be read. */
export async function readPicture(file: string): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    return await sharp(file).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new CliExit(65, `${file} is not a readable image: ${(e as Error).message}`);
  }
}

/** Run `fn` with an engine worker (CPU) that has the classifier `model` and the `detector` loaded; stops it after. */
export async function withEngine<T>(model: string, detector: string, fn: (w: EngineWorker) => Promise<T>): Promise<T> {
  const w = new EngineWorker({ inferTimeoutMs: 60000, onStderr: (l) => process.stderr.write(`engine: ${l}\n`) });
  try {
    await w.start();
    await w.load(model, ['cpu']);
    await w.loadDetector(detector, ['cpu']);
    return await fn(w);
  } finally {
    await w.stop(1000);
  }
}

/** Run a command's main and exit with its code; a CliExit or any other error is written as `name: message`. */
export function runCli(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${name}: ${(e as Error).message}\n`);
      process.exit(e instanceof CliExit ? e.code : 1);
    },
  );
}
