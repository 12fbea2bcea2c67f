// Camera configuration: types, URL checks and per-camera validation, every problem with its path.
// Part of daemon/config.ts (which re-exports the public names); pure apart from checking that a
// file:// clip exists.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConfigProblem } from './config.js';
import { MOTION_DEFAULTS } from '../../pipelines/motion.js';
import type { CameraConfig, CameraDecoder, CameraMode, CameraMotion } from '../../pipelines/camera.js';

export const DEMO_CLIP = 'models/demo/demo.mp4';
/**
 * The embedded default's camera: four real scenes (one masked woman, four unmasked people, a masked
 * crowd, five unmasked people; 3 s each at 1280×720, looping), so `npm start` shows faces, boxes,
 * verdicts and people on the dashboard. Licences: test/fixtures/scenes/README.md. Like the demo clip,
 * it is in the repository, not in the npm package.
 */
export const DEMO_SCENES_CLIP = 'test/fixtures/scenes/scenes.mp4';

export type { CameraConfig, CameraDecoder, CameraMode, CameraMotion };

export const CAMERA_DECODERS: readonly CameraDecoder[] = ['ffmpeg', 'gstreamer-nv', 'gstreamer-sw'];

export const CAMERA_MODES: readonly CameraMode[] = ['classify', 'faces'];

export const MOTION_DEFAULT: CameraMotion = { enabled: false, ...MOTION_DEFAULTS };
const MOTION_KEYS = Object.keys(MOTION_DEFAULT);

/** `cameras[i].motion`: problems as [sub-key ('' = the object itself), message]. */
export function checkMotion(m: unknown, mode: unknown): [string, string][] {
  if (!isObj(m)) return [['', `expected an object { enabled, pixelThreshold, areaThreshold, maxReuseSec } (got ${show(m)})`]];
  const out: [string, string][] = [];
  for (const k of Object.keys(m)) if (!MOTION_KEYS.includes(k)) out.push([`.${k}`, 'unknown key']);
  if (m.enabled !== undefined && typeof m.enabled !== 'boolean') out.push(['.enabled', `must be true or false (got ${show(m.enabled)})`]);
  const p = m.pixelThreshold;
  if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 254))
    out.push(['.pixelThreshold', `must be an integer 1..254 (luma levels a sampled cell must move to count as changed; got ${show(p)})`]);
  const a = m.areaThreshold;
  if (a !== undefined && (typeof a !== 'number' || !Number.isFinite(a) || a < 0 || a >= 1))
    out.push(['.areaThreshold', `must be a number 0..<1 (fraction of cells that must change; got ${show(a)})`]);
  const r = m.maxReuseSec;
  if (r !== undefined && (typeof r !== 'number' || !Number.isFinite(r) || r < 0.1 || r > 3600))
    out.push(['.maxReuseSec', `must be a number 0.1..3600 (seconds; got ${show(r)})`]);
  if (m.enabled === true && mode === 'classify')
    out.push(['.enabled', 'motion gating applies to "mode": "faces" (it skips the face detector); a classify camera classifies every frame']);
  return out;
}

/** The effective motion settings: the file's keys over MOTION_DEFAULT. */
export function resolveMotion(m: Partial<CameraMotion>): CameraMotion {
  return { ...MOTION_DEFAULT, ...m };
}

const CAMERA_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CAMERA_KEYS = ['id', 'url', 'fps', 'loop', 'decoder', 'mode', 'frameWidth', 'frameHeight', 'roi', 'motion'];
export const FRAME_DEFAULT = { width: 1280, height: 720 } as const;
export const CAMERA_FPS_DEFAULT = 10;
export const MASK = '********';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A region of interest: [x, y, w, h], integers, w and h ≥ 16, classify mode with ffmpeg only. */
export function checkRoi(roi: unknown, mode: unknown, decoder: unknown): string[] {
  if (!Array.isArray(roi) || roi.length !== 4 || !roi.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0))
    return [`must be [x, y, width, height] in the camera's pixels, non-negative integers (got ${show(roi)})`];
  const out: string[] = [];
  if (roi[2] < 16 || roi[3] < 16) out.push(`width and height must be at least 16 (got ${roi[2]}x${roi[3]})`);
  if (mode !== 'classify') out.push('a region of interest applies to "mode": "classify" (faces mode looks at the whole frame)');
  if (decoder !== undefined && decoder !== 'ffmpeg') out.push('a region of interest needs decoder "ffmpeg"');
  return out;
}

// ---------------------------------------------------------------------------------------
// URL helpers

/** Replace the password of a URL's userinfo (scheme://user:pass@host) with ********. */
export function maskUrl(s: string): string {
  return s.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*):([^/?#@]+)@/, `$1:${MASK}@`);
}

export const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(maskUrl(v)) : JSON.stringify(v) ?? String(v));

export function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/** Problem with a camera URL, or undefined when it is fine. */
function cameraUrlProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return 'expected a non-empty URL string (rtsp://, rtsps:// or file://)';
  const u = parseUrl(v);
  const bad = `${show(v)} is not an rtsp://, rtsps:// or file:// URL`;
  if (!u) return bad;
  if (u.protocol === 'rtsp:' || u.protocol === 'rtsps:') return u.hostname ? undefined : `${show(v)} has no host`;
  if (u.protocol !== 'file:') return bad;
  if (u.hostname !== '') return `${show(v)} must be an absolute file URL (file:///path/to/clip.mp4)`;
  let p: string;
  try {
    p = fileURLToPath(u);
  } catch (e) {
    return `${show(v)} is not a usable file URL (${(e as Error).message})`;
  }
  if (!isFile(p)) return `clip ${p} not found`;
  return undefined;
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Validate the camera array element by element, collecting every problem with its path. */
export function checkCameras(v: unknown, requireOne: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (!Array.isArray(v)) {
    out.push({ path: 'cameras', message: 'expected an array of cameras' });
    return out;
  }
  if (v.length === 0 && requireOne) out.push({ path: 'cameras', message: 'at least one camera is required' });
  const seen = new Map<string, number>();
  v.forEach((cam, i) => {
    const at = `cameras[${i}]`;
    if (!isObj(cam)) {
      out.push({ path: at, message: `expected an object with id, url, fps, loop; got ${show(cam)}` });
      return;
    }
    for (const k of Object.keys(cam)) if (!CAMERA_KEYS.includes(k)) out.push({ path: `${at}.${k}`, message: 'unknown key' });
    if (cam.id === undefined) {
      out.push({ path: `${at}.id`, message: 'missing: expected a camera id (1-64 characters from A-Z a-z 0-9 _ -)' });
    } else if (typeof cam.id !== 'string' || !CAMERA_ID.test(cam.id)) {
      out.push({ path: `${at}.id`, message: `${show(cam.id)} is not a camera id (1-64 characters from A-Z a-z 0-9 _ -)` });
    } else if (seen.has(cam.id)) {
      out.push({ path: `${at}.id`, message: `duplicate camera id "${cam.id}"` });
    } else seen.set(cam.id, i);
    const urlProblem = cameraUrlProblem(cam.url);
    if (urlProblem) out.push({ path: `${at}.url`, message: cam.url === undefined ? 'missing: expected an rtsp://, rtsps:// or file:// URL' : urlProblem });
    if (cam.fps !== undefined && (typeof cam.fps !== 'number' || !Number.isFinite(cam.fps) || cam.fps < 1 || cam.fps > 60))
      out.push({ path: `${at}.fps`, message: `must be a number 1..60 (got ${show(cam.fps)})` });
    if (cam.loop !== undefined && typeof cam.loop !== 'boolean') out.push({ path: `${at}.loop`, message: `must be true or false (got ${show(cam.loop)})` });
    if (cam.mode !== undefined && !CAMERA_MODES.includes(cam.mode as CameraMode))
      out.push({ path: `${at}.mode`, message: `must be one of ${CAMERA_MODES.join(', ')} (got ${show(cam.mode)})` });
    for (const [k, max] of [['frameWidth', 3840], ['frameHeight', 2160]] as const) {
      const v = cam[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 64 || v > max || v % 2 !== 0))
        out.push({ path: `${at}.${k}`, message: `must be an even integer 64..${max} (got ${show(v)})` });
    }
    if (cam.decoder !== undefined && !CAMERA_DECODERS.includes(cam.decoder as CameraDecoder))
      out.push({ path: `${at}.decoder`, message: `must be one of ${CAMERA_DECODERS.join(', ')} (got ${show(cam.decoder)})` });
    else if (cam.decoder !== undefined && cam.decoder !== 'ffmpeg' && cam.loop === true)
      out.push({ path: `${at}.loop`, message: 'looping a clip needs decoder "ffmpeg" (GStreamer sources restart at the end of a file instead)' });
    if (cam.roi !== undefined) out.push(...checkRoi(cam.roi, cam.mode, cam.decoder).map((message) => ({ path: `${at}.roi`, message })));
    if (cam.motion !== undefined) out.push(...checkMotion(cam.motion, cam.mode).map(([k, message]) => ({ path: `${at}.motion${k}`, message })));
  });
  return out;
}

/** The cameras used when no config file is given: the bundled demo clip, looped. */
export function defaultCameras(packageRoot: string): CameraConfig[] {
  return [{ id: 'cam1', url: pathToFileURL(path.resolve(packageRoot, DEMO_SCENES_CLIP)).href, fps: CAMERA_FPS_DEFAULT, loop: true, mode: 'faces' }];
}
