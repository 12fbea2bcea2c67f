/**
 * An entrance-like clip for motion gating, generated from the scene photos in test/fixtures/scenes
 * (licences in their README.md), never downloaded:
 *
 *   const c = await entranceClip();                       // 25 s, 2 visits, cached
 *   const c = await entranceClip({ seconds: 10, visits: 1 });
 *   c.path; c.frames; c.present(i)                          // are people in frame i of the clip?
 *
 * 1280x720, 10 fps, H.264 baseline, a keyframe every 10 frames, no B-frames, no scene-cut keyframes.
 * Most of the time it is an EMPTY static scene: a face-free corner of coral-face.jpg (curtains and a
 * lamp, the 152x86 region at x 360, y 0, top right, above the heads) scaled up to 1280x720. People are
 * present exactly one fifth of the frames, in `visits` equal visits spread over the clip: a scene photo
 * (coral-face.jpg: 4 unmasked people, then aizoo-demo2.jpg: one masked woman, alternating) scaled to
 * 600 px high cuts in and pans sideways 10 px per frame until it cuts out. Temporal sensor noise is
 * added to every frame (ffmpeg `noise=alls=NOISE:allf=t`, fixed seed) before encoding, so a motion
 * gate must ignore it; the encoder is capped at 4 Mbit/s as a camera would be (CRF 23 with VBV), so
 * what survives is the noise a camera really sends: blotchy, re-drawn at each keyframe.
 * Deterministic: same options, same bytes (x264 is deterministic by default).
 *
 * Made with sharp (the still layers) and the system ffmpeg (overlay, noise, encode); cached in
 * $TMPDIR/mobilenet-edge-bench/ under a name that encodes the options. Also a CLI:
 *   node dist/test/helpers/entrance-clip.js [--seconds 25] [--visits 2] [--noise 20]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const execFileP = promisify(execFile);
const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';
/** test/fixtures/scenes, found upwards from here (this file also runs compiled, from dist/test/helpers). */
function scenesDir(): string {
  for (let d = import.meta.dirname; ; d = dirname(d)) {
    const s = join(d, 'test', 'fixtures', 'scenes');
    if (existsSync(join(s, 'coral-face.jpg'))) return s;
    if (dirname(d) === d) throw new Error(`test/fixtures/scenes not found above ${import.meta.dirname}`);
  }
}
/** Bump when the clip's recipe changes (it is part of the cache name). */
const RECIPE = 2;

export const ENTRANCE = { width: 1280, height: 720, fps: 10 } as const;
/** The empty scene: a region of coral-face.jpg (512x355) with no face in it. */
export const BACKGROUND = { image: 'coral-face.jpg', left: 360, top: 0, width: 152, height: 86 } as const;
const PEOPLE = ['coral-face.jpg', 'aizoo-demo2.jpg'];
const PERSON_HEIGHT = 600;
const PERSON_TOP = 60;
const PAN_PX_PER_FRAME = 10;
/** A camera's bitrate cap: 720p IP cameras stream at 2-4 Mbit/s; uncapped, the noise alone took 19 Mbit/s. */
const MAXRATE = '4M';

export interface EntranceClipOptions {
  /** Clip length (default 25 s; frames = seconds x 10). */
  seconds?: number;
  /** Visits of people, equal length, together one fifth of the clip (default 2). */
  visits?: number;
  /** ffmpeg noise filter strength, 0..100 (default 20). */
  noise?: number;
  /** Cache folder (default $TMPDIR/mobilenet-edge-bench). */
  dir?: string;
}

export interface Visit {
  image: string;
  /** First frame (0-based) with people, and how many frames they stay. */
  start: number;
  frames: number;
}

export interface EntranceClip {
  path: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
  noise: number;
  visits: Visit[];
  /** Frames with people / all frames (0.2). */
  presentFraction: number;
  /** Are people in frame i (0-based, taken modulo the clip length)? */
  present(i: number): boolean;
}

/** Where the visits are: `visits` equal runs, one fifth of `frames` in all, evenly spread. Pure. */
export function planVisits(frames: number, visits: number): Visit[] {
  if (!Number.isInteger(visits) || visits < 1) throw new RangeError(`visits must be an integer ≥ 1, got ${visits}`);
  const len = frames / 5 / visits;
  if (!Number.isInteger(len) || len < 2) throw new RangeError(`${frames} frames cannot hold ${visits} visits of equal whole length making one fifth`);
  return Array.from({ length: visits }, (_, i) => ({
    image: PEOPLE[i % PEOPLE.length],
    start: Math.round((frames * (2 * i + 1)) / (2 * visits) - len / 2),
    frames: len,
  }));
}

function describe(frames: number, noise: number, visits: Visit[], path: string): EntranceClip {
  const inVisit = (i: number) => visits.some((v) => i >= v.start && i < v.start + v.frames);
  return {
    path, frames, fps: ENTRANCE.fps, width: ENTRANCE.width, height: ENTRANCE.height, noise, visits,
    presentFraction: visits.reduce((a, v) => a + v.frames, 0) / frames,
    present: (i: number) => inVisit(((i % frames) + frames) % frames),
  };
}

export async function entranceClip(opts: EntranceClipOptions = {}): Promise<EntranceClip> {
  const seconds = opts.seconds ?? 25;
  const frames = Math.round(seconds * ENTRANCE.fps);
  const noise = opts.noise ?? 20;
  const visits = planVisits(frames, opts.visits ?? 2);
  const dir = opts.dir ?? join(tmpdir(), 'mobilenet-edge-bench');
  const out = join(dir, `entrance-r${RECIPE}-${frames}f-${visits.length}v-n${noise}.mp4`);
  if (existsSync(out)) return describe(frames, noise, visits, out);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, 'entrance-tmp-'));
  const SCENES = scenesDir();
  try {
    const b = BACKGROUND;
    await sharp(join(SCENES, b.image)).extract({ left: b.left, top: b.top, width: b.width, height: b.height })
      .resize(ENTRANCE.width, ENTRANCE.height, { fit: 'fill', kernel: 'lanczos3' }).png().toFile(join(tmp, 'bg.png'));
    const sizes: number[] = [];
    for (let i = 0; i < PEOPLE.length; i++) {
      const info = await sharp(join(SCENES, PEOPLE[i])).resize({ height: PERSON_HEIGHT, kernel: 'lanczos3' }).png().toFile(join(tmp, `p${i}.png`));
      sizes.push(info.width);
    }
    // one overlay per visit: visit i shows PEOPLE[i % 2]; even visits pan right from x 0, odd ones
    // pan left from the right edge
    const inputs = ['-loop', '1', '-framerate', String(ENTRANCE.fps), '-i', join(tmp, 'bg.png')];
    const chain: string[] = [];
    let last = '0:v';
    visits.forEach((v, i) => {
      const p = i % PEOPLE.length;
      inputs.push('-loop', '1', '-framerate', String(ENTRANCE.fps), '-i', join(tmp, `p${p}.png`));
      const end = v.start + v.frames - 1;
      const x = i % 2 === 0 ? `(n-${v.start})*${PAN_PX_PER_FRAME}` : `${ENTRANCE.width - sizes[p]}-(n-${v.start})*${PAN_PX_PER_FRAME}`;
      chain.push(`[${last}][${i + 1}:v]overlay=x='${x}':y=${PERSON_TOP}:enable='between(n,${v.start},${end})'[v${i}]`);
      last = `v${i}`;
    });
    chain.push(`[${last}]noise=alls=${noise}:allf=t:all_seed=20260707,format=yuv420p[out]`);
    const part = join(tmp, 'clip.mp4');
    await execFileP(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', chain.join(';'), '-map', '[out]',
      '-frames:v', String(frames), '-r', String(ENTRANCE.fps), '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-crf', '23', '-maxrate', MAXRATE, '-bufsize', MAXRATE,
      '-g', String(ENTRANCE.fps), '-keyint_min', String(ENTRANCE.fps), '-sc_threshold', '0', '-bf', '0', '-an', '-movflags', '+faststart', part]);
    const got = Number((await execFileP(FFPROBE, ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', part])).stdout.trim());
    if (got !== frames) throw new Error(`entrance clip has ${got} frames, expected ${frames}`);
    renameSync(part, out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return describe(frames, noise, visits, out);
}

/** The clip's ground truth as JSON (for a report or a sidecar file). */
export function entranceClipJson(c: EntranceClip): string {
  return JSON.stringify({ path: c.path, frames: c.frames, fps: c.fps, width: c.width, height: c.height, noise: c.noise, maxrate: MAXRATE, presentFraction: c.presentFraction, visits: c.visits, background: BACKGROUND, personHeight: PERSON_HEIGHT, panPxPerFrame: PAN_PX_PER_FRAME }, null, 1);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const arg = (k: string) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const c = await entranceClip({ seconds: arg('seconds'), visits: arg('visits'), noise: arg('noise') });
  writeFileSync(c.path.replace(/\.mp4$/, '.json'), entranceClipJson(c));
  process.stdout.write(`${entranceClipJson(c)}\n`);
}
