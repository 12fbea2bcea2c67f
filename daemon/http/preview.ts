// Live preview: MJPEG of each camera with the boxes drawn, on the local HTTP server. Off by default.
// It never slows inference: frames are encoded only while someone watches, at most `fps` per camera,
// and a frame that arrives while the previous encode runs is skipped (never queued).
import type { IncomingMessage, ServerResponse } from 'node:http';
import sharp from 'sharp';
import { drawFaces } from '../../pipelines/annotate.js';
import { toRgb24, type FrameFormat } from '../../pipelines/pre/yuv.js';
import type { Logger } from '../log.js';
import { monoMs } from '../../pipelines/clock.js';

export interface PreviewConfig {
  enabled: boolean;
  fps: number;
  quality: number;
}

export interface PreviewFace {
  box: [number, number, number, number];
  /** The region the classifier saw (margin, squared); collect saves this. */
  crop?: [number, number, number, number];
  label: string;
  score: number;
  detScore: number;
}

const BOUNDARY = 'mobilenet-edge-frame';

/** A camera frame the preview may keep: pooled by its source, so held while kept and released after. */
export interface PreviewFrame {
  data: Buffer;
  width: number;
  height: number;
  /** rgb24 (default) or i420 (faces mode): converted to RGB only when encoded. */
  format?: FrameFormat;
  seq: number;
  hold(): void;
  release(): void;
}

/**
 * A frame as a JPEG without drawings, scaled down to at most `maxWidth` pixels wide (0 = as is): the
 * one function through which camera pixels become a picture (/snapshot and the dashboard's live view).
 */
export async function encodeFrame(frame: Pick<PreviewFrame, 'data' | 'width' | 'height' | 'format'>, quality: number, maxWidth = 0): Promise<Buffer> {
  let img = sharp(toRgb24(frame), { raw: { width: frame.width, height: frame.height, channels: 3 } });
  if (maxWidth > 0 && frame.width > maxWidth) img = img.resize({ width: maxWidth });
  return img.jpeg({ quality }).toBuffer();
}

/** Whether a frame at `now` should be encoded: a watcher, not busy, and the interval elapsed. Pure. */
export function shouldEncode(s: { watchers: number; busy: boolean; lastAt: number }, now: number, fps: number): boolean {
  return s.watchers > 0 && !s.busy && now - s.lastAt >= 1000 / fps;
}

export function previewPage(cameras: readonly string[]): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const imgs = cameras.map((c) => `<figure><img src="/preview/${encodeURIComponent(c)}.mjpeg" alt="${esc(c)}"><figcaption>${esc(c)}</figcaption></figure>`).join('\n');
  return `<!doctype html><meta charset="utf-8"><title>mobilenet-edge preview</title>
<style>body{font:14px sans-serif;background:#111;color:#eee;margin:1em}figure{display:inline-block;margin:.5em}img{max-width:640px;border:1px solid #444}</style>
<h1>mobilenet-edge preview</h1>
${imgs || '<p>no cameras</p>'}
`;
}

interface CameraState {
  clients: Set<ServerResponse>;
  busy: boolean;
  lastAt: number;
  /** Latest classified frame (held, no copy) for /snapshot; faces in its own pixels. */
  latest: { frame: PreviewFrame; faces: readonly PreviewFace[] } | null;
}

export class Preview {
  private cams = new Map<string, CameraState>();

  constructor(
    private readonly cfg: PreviewConfig,
    cameras: readonly string[],
    private readonly log: Logger,
  ) {
    for (const c of cameras) this.cams.set(c, { clients: new Set(), busy: false, lastAt: -Infinity, latest: null });
  }

  /** HTTP routes /preview and /preview/{camera}.mjpeg; returns false for other URLs. */
  handle(url: string, _req: IncomingMessage, res: ServerResponse): boolean {
    if (url === '/preview' || url === '/preview/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(previewPage([...this.cams.keys()]));
      return true;
    }
    const snap = /^\/snapshot\/([^/]+)\.jpg$/.exec(url);
    if (snap) return this.snapshot(decodeURIComponent(snap[1]), res);
    const m = /^\/preview\/([^/]+)\.mjpeg$/.exec(url);
    if (!m) return false;
    const cam = this.cams.get(decodeURIComponent(m[1]));
    if (!cam) {
      res.writeHead(404).end(`no camera ${m[1]}\n`);
      return true;
    }
    res.writeHead(200, { 'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`, 'cache-control': 'no-store', connection: 'close' });
    cam.clients.add(res);
    res.on('close', () => cam.clients.delete(res));
    return true;
  }

  /**
   * The latest classified frame as a JPEG without drawings (for edgectl collect); the faces found on
   * it, in its pixels, are in the x-faces header (JSON: [{box, crop, label, score}]).
   */
  private snapshot(camera: string, res: ServerResponse): boolean {
    const cam = this.cams.get(camera);
    if (!cam?.latest) {
      res.writeHead(cam ? 503 : 404).end(cam ? `no frame from ${camera} yet\n` : `no camera ${camera}\n`);
      return true;
    }
    const { frame, faces } = cam.latest;
    const { seq } = frame;
    frame.hold(); // until encoded: a newer frame may replace `latest` meanwhile
    encodeFrame(frame, 92)
      .then((jpeg) => {
        const meta = faces.map((f) => ({ box: f.box, crop: f.crop ?? f.box, label: f.label, score: f.score }));
        res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store', 'x-frame': String(seq), 'x-faces': JSON.stringify(meta) }).end(jpeg);
      })
      .catch((e) => res.writeHead(500).end(String((e as Error).message)))
      .finally(() => frame.release());
    return true;
  }

  /** A classified frame; encoded and sent only when someone watches and the throttle allows. */
  offer(camera: string, frame: PreviewFrame, faces: readonly PreviewFace[], label: string): void {
    const cam = this.cams.get(camera);
    if (!cam) return;
    frame.hold();
    cam.latest?.frame.release();
    cam.latest = { frame, faces };
    const now = monoMs(); // an interval: a step of the wall clock must not freeze the preview (D165)
    if (!shouldEncode({ watchers: cam.clients.size, busy: cam.busy, lastAt: cam.lastAt }, now, this.cfg.fps)) return;
    cam.busy = true;
    cam.lastAt = now;
    frame.hold(); // until drawn and encoded
    Promise.resolve()
      .then(() => drawFaces(toRgb24(frame), frame.width, frame.height, faces, label, this.cfg.quality))
      .then((jpeg) => {
        const head = `--${BOUNDARY}\r\ncontent-type: image/jpeg\r\ncontent-length: ${jpeg.length}\r\n\r\n`;
        for (const res of cam.clients) {
          // A slow viewer is skipped rather than buffered.
          if (res.writableLength > 4 * jpeg.length) continue;
          res.write(head);
          res.write(jpeg);
          res.write('\r\n');
        }
      })
      .catch((e) => this.log.warn('preview encode failed', { camera, err: (e as Error).message }))
      .finally(() => {
        cam.busy = false;
        frame.release();
      });
  }

  close(): void {
    for (const cam of this.cams.values()) {
      for (const res of cam.clients) res.end();
      cam.latest?.frame.release();
      cam.latest = null;
    }
  }
}
