/**
 * Clips of people walking, with ground-truth tracks, generated from the scene photos in
 * test/fixtures/scenes (licences in their README.md; face boxes and labels hand-checked in
 * scenes.json), never downloaded:
 *
 *   const c = await peopleClip('tracks');   // 32 s: 8 people, two crossings with occlusion, approaches
 *   const c = await peopleClip('crowd');    // 30 s loop: about 10 faces a frame walking up to a door
 *   c.path; c.frames; c.people; c.truth(i)   // ground truth of frame i: id, box, label, visible
 *
 * Each person is a face of scenes.json with some context (the box grown by MARGIN each way), cut
 * from the scene letterboxed onto 1280x720 (as scenes.mp4 does) and pasted on the entrance clip's
 * empty background, moving along a straight line while its face grows or shrinks linearly, from its
 * first frame to its last. Later people are drawn over earlier ones; a face more than half covered
 * by one drawn over it is not `visible` (a detector cannot be expected to find it).
 * 1280x720, 10 fps, H.264 baseline, a keyframe every 10 frames, no B-frames. Deterministic; cached in
 * $TMPDIR/mobilenet-edge-bench/ under a name with the recipe version.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { BACKGROUND } from './entrance-clip.js';

export type Box = [number, number, number, number];
const W = 1280, H = 720, FPS = 10;
const RECIPE = 2;
const MARGIN = 0.35;

function scenesDir(): string {
  for (let d = import.meta.dirname; ; d = dirname(d)) {
    const s = join(d, 'test', 'fixtures', 'scenes');
    if (existsSync(join(s, 'scenes.json'))) return s;
    if (dirname(d) === d) throw new Error(`test/fixtures/scenes not found above ${import.meta.dirname}`);
  }
}

interface SceneFace { image: string; box: Box; label: string }
export function sceneFaces(): SceneFace[] {
  const j = JSON.parse(readFileSync(join(scenesDir(), 'scenes.json'), 'utf8')) as { scenes: { image: string; faces: { box: Box; label: string }[] }[] };
  return j.scenes.flatMap((s) => s.faces.map((f) => ({ image: s.image, box: f.box, label: f.label })));
}

/** A person: face `face` (index into sceneFaces()), from frame `start` for `frames` frames, face centre and height moving linearly. */
export interface PersonPlan {
  id: number;
  face: number;
  label: string;
  start: number;
  frames: number;
  from: { cx: number; cy: number; h: number };
  to: { cx: number; cy: number; h: number };
}

export interface TruthFace { id: number; box: Box; label: string; visible: boolean }

export interface PeopleClip {
  kind: 'tracks' | 'crowd';
  path: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
  people: PersonPlan[];
  truth(i: number): TruthFace[];
}

/** The ground-truth clip: crossings with occlusion, people walking up to the camera, side by side. Pure. */
export function planTracks(faces: SceneFace[]): PersonPlan[] {
  const pick = (label: string, n: number) => faces.map((f, i) => ({ f, i })).filter((x) => x.f.label === label && x.f.box[3] >= 100)[n].i;
  const p = (id: number, face: number, start: number, frames: number, from: PersonPlan['from'], to: PersonPlan['to']): PersonPlan => ({ id, face, label: faces[face].label, start, frames, from, to });
  return [
    // a crossing: 1 walks right in front, 2 walks left behind (hidden while they overlap)
    p(1, pick('no_mask', 0), 5, 110, { cx: 150, cy: 330, h: 150 }, { cx: 1130, cy: 350, h: 160 }),
    p(2, pick('mask', 0), 15, 100, { cx: 1130, cy: 360, h: 130 }, { cx: 150, cy: 340, h: 130 }),
    // walking up to the door: small and far, then large and near
    p(3, pick('mask', 1), 100, 90, { cx: 640, cy: 200, h: 80 }, { cx: 600, cy: 420, h: 260 }),
    p(4, pick('no_mask', 1), 120, 90, { cx: 300, cy: 180, h: 90 }, { cx: 360, cy: 430, h: 240 }),
    // the second crossing, the other way round: the masked one in front
    p(5, pick('no_mask', 2), 200, 80, { cx: 1100, cy: 300, h: 120 }, { cx: 200, cy: 310, h: 120 }),
    p(6, pick('mask', 2), 205, 80, { cx: 180, cy: 320, h: 140 }, { cx: 1100, cy: 330, h: 140 }),
    // side by side, moving together
    p(7, pick('mask', 3), 40, 70, { cx: 900, cy: 150, h: 110 }, { cx: 500, cy: 170, h: 150 }),
    p(8, pick('no_mask', 3), 40, 70, { cx: 1120, cy: 170, h: 110 }, { cx: 760, cy: 190, h: 150 }),
  ];
}

/** The moving crowd: a person every 10 frames, each walking up to the door for 100 frames (about 10 at a time). Pure. */
export function planCrowd(faces: SceneFace[], frames: number): PersonPlan[] {
  const usable = faces.map((f, i) => ({ f, i })).filter((x) => x.f.box[3] >= 100);
  const out: PersonPlan[] = [];
  const lanes = [180, 420, 640, 860, 1100];
  for (let k = 0, start = 0; start + 100 <= frames; k++, start += 10) {
    const lane = lanes[(k * 3) % lanes.length];
    const face = usable[k % usable.length].i;
    out.push({ id: k + 1, face, label: faces[face].label, start, frames: 100, from: { cx: lane, cy: 150, h: 60 }, to: { cx: lane + (lane < 640 ? -60 : 60), cy: 480, h: 200 } });
  }
  return out;
}

interface Patch { data: Buffer; width: number; height: number; face: Box }

async function patches(faces: SceneFace[], used: Set<number>): Promise<Map<number, Patch>> {
  const dir = scenesDir();
  const scenes = new Map<string, Buffer>();
  const out = new Map<number, Patch>();
  for (const i of used) {
    const f = faces[i];
    if (!scenes.has(f.image)) scenes.set(f.image, await sharp(join(dir, f.image)).resize(W, H, { fit: 'contain', background: { r: 0, g: 0, b: 0 }, kernel: 'lanczos3' }).removeAlpha().png().toBuffer());
    const [x, y, w, h] = f.box;
    const left = Math.max(0, Math.round(x - w * MARGIN)), top = Math.max(0, Math.round(y - h * MARGIN));
    const right = Math.min(W, Math.round(x + w * (1 + MARGIN))), bottom = Math.min(H, Math.round(y + h * (1 + MARGIN)));
    const data = await sharp(scenes.get(f.image)!).extract({ left, top, width: right - left, height: bottom - top }).png().toBuffer();
    out.set(i, { data, width: right - left, height: bottom - top, face: [x - left, y - top, w, h] });
  }
  return out;
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Where each person's patch and face are on frame i (clamped inside the frame), in drawing order. Pure given the patch sizes. */
export function layout(people: PersonPlan[], sizes: Map<number, { width: number; height: number; face: Box }>, i: number): { p: PersonPlan; left: number; top: number; width: number; height: number; face: Box }[] {
  const out = [];
  for (const p of people) {
    if (i < p.start || i >= p.start + p.frames) continue;
    const t = p.frames > 1 ? (i - p.start) / (p.frames - 1) : 0;
    const s = sizes.get(p.face)!;
    const scale = lerp(p.from.h, p.to.h, t) / s.face[3];
    const width = Math.max(1, Math.round(s.width * scale)), height = Math.max(1, Math.round(s.height * scale));
    const fx = s.face[0] * scale, fy = s.face[1] * scale, fw = s.face[2] * scale, fh = s.face[3] * scale;
    const left = Math.round(Math.min(W - width, Math.max(0, lerp(p.from.cx, p.to.cx, t) - fx - fw / 2)));
    const top = Math.round(Math.min(H - height, Math.max(0, lerp(p.from.cy, p.to.cy, t) - fy - fh / 2)));
    out.push({ p, left, top, width, height, face: [left + fx, top + fy, fw, fh] as Box });
  }
  return out;
}

function truthOf(l: ReturnType<typeof layout>): TruthFace[] {
  return l.map((x, k) => {
    const [fx, fy, fw, fh] = x.face;
    // the part of the face covered by patches drawn later (union approximated by the largest one)
    let covered = 0;
    for (const o of l.slice(k + 1)) {
      const ix = Math.max(0, Math.min(fx + fw, o.left + o.width) - Math.max(fx, o.left));
      const iy = Math.max(0, Math.min(fy + fh, o.top + o.height) - Math.max(fy, o.top));
      covered = Math.max(covered, (ix * iy) / (fw * fh));
    }
    const r = (v: number) => Math.round(v * 10) / 10;
    return { id: x.p.id, box: x.face.map(r) as Box, label: x.p.label, visible: covered < 0.5 };
  });
}

export async function peopleClip(kind: 'tracks' | 'crowd', opts: { seconds?: number; dir?: string } = {}): Promise<PeopleClip> {
  const frames = Math.round((opts.seconds ?? (kind === 'tracks' ? 32 : 30)) * FPS);
  const faces = sceneFaces();
  const people = kind === 'tracks' ? planTracks(faces) : planCrowd(faces, frames);
  const used = new Set(people.map((p) => p.face));
  const pt = await patches(faces, used);
  const sizes = new Map([...pt].map(([k, v]) => [k, { width: v.width, height: v.height, face: v.face }]));
  const clip: PeopleClip = { kind, path: '', frames, fps: FPS, width: W, height: H, people, truth: (i) => truthOf(layout(people, sizes, ((i % frames) + frames) % frames)) };
  const dir = opts.dir ?? join(tmpdir(), 'mobilenet-edge-bench');
  clip.path = join(dir, `people-${kind}-r${RECIPE}-${frames}f.mp4`);
  if (existsSync(clip.path)) return clip;
  mkdirSync(dir, { recursive: true });
  const b = BACKGROUND;
  const bg = await sharp(join(scenesDir(), b.image)).extract({ left: b.left, top: b.top, width: b.width, height: b.height }).resize(W, H, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha().png().toBuffer();
  const part = `${clip.path}.part.mp4`;
  const ff = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(FPS), '-i', '-',
    '-vf', 'format=yuv420p', '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-crf', '20', '-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0', '-bf', '0', '-an', '-movflags', '+faststart', part], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  ff.stderr.on('data', (d) => (err += d));
  const done = new Promise<void>((res, rej) => ff.on('close', (code) => (code === 0 ? res() : rej(new Error(`ffmpeg exited ${code}: ${err}`)))));
  for (let i = 0; i < frames; i++) {
    const l = layout(people, sizes, i);
    const scaled = await Promise.all(l.map(async (x) => ({ input: await sharp(pt.get(x.p.face)!.data).resize(x.width, x.height, { fit: 'fill' }).png().toBuffer(), left: x.left, top: x.top })));
    const raw = await sharp(bg).composite(scaled).removeAlpha().raw().toBuffer();
    if (!ff.stdin.write(raw)) await new Promise((r) => ff.stdin.once('drain', r));
  }
  ff.stdin.end();
  await done;
  renameSync(part, clip.path);
  return clip;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const kind = (process.argv[2] ?? 'tracks') as 'tracks' | 'crowd';
  const c = await peopleClip(kind);
  process.stdout.write(`${c.path}: ${c.frames} frames, ${c.people.length} people\n`);
}
