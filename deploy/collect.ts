// edgectl collect: save frames (or the face crops the classifier saw) from a running daemon's camera
// into DIR/unlabelled/, for an operator to sort into DIR/<label>/ before `edgectl train`.
// Reads the daemon's local /snapshot/{camera}.jpg (preview.enabled, http on 127.0.0.1).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export interface CollectOptions {
  url: string; // http://127.0.0.1:9464
  camera: string;
  out: string;
  everyMs: number;
  count: number;
  faces: boolean;
  /** The daemon's http token, when it has one (http.token / tokenFile). */
  token?: string;
}

/** "2s", "500ms", "1.5m" → ms. */
export function parseInterval(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not an interval (e.g. 2s, 500ms, 1m)`);
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60000 : 1000);
  if (n < 100) throw new Error(`interval ${s} is below 100 ms`);
  return n;
}

type Box = [number, number, number, number];

/** A crop box clipped to the image, integers; null when nothing is left. */
export function clipBox(b: Box, width: number, height: number): { left: number; top: number; width: number; height: number } | null {
  const x1 = Math.max(0, Math.floor(b[0]));
  const y1 = Math.max(0, Math.floor(b[1]));
  const x2 = Math.min(width, Math.ceil(b[0] + b[2]));
  const y2 = Math.min(height, Math.ceil(b[1] + b[3]));
  return x2 - x1 >= 8 && y2 - y1 >= 8 ? { left: x1, top: y1, width: x2 - x1, height: y2 - y1 } : null;
}

export async function collect(o: CollectOptions, log: (l: string) => void): Promise<number> {
  const dir = join(o.out, 'unlabelled');
  await mkdir(dir, { recursive: true });
  let saved = 0;
  let lastFrame = '';
  for (let round = 0; saved < o.count; round++) {
    if (round) await new Promise((r) => setTimeout(r, o.everyMs));
    const res = await fetch(`${o.url}/snapshot/${encodeURIComponent(o.camera)}.jpg`, o.token ? { headers: { authorization: `Bearer ${o.token}` } } : {}).catch((e) => {
      throw new Error(`cannot reach the daemon at ${o.url} (${(e as Error).cause ?? e}); is preview.enabled set and http.port right?`);
    });
    if (res.status === 401) throw new Error('the daemon wants its http token: pass --token or set MOBILENET_EDGE_HTTP_TOKEN');
    if (res.status === 404) throw new Error(`the daemon has no camera "${o.camera}" (or preview.enabled is off): ${(await res.text()).trim()}`);
    if (res.status === 503) continue; // no frame yet
    if (!res.ok) throw new Error(`snapshot failed: HTTP ${res.status}`);
    const frame = res.headers.get('x-frame') ?? String(Date.now());
    if (frame === lastFrame) continue;
    lastFrame = frame;
    const jpeg = Buffer.from(await res.arrayBuffer());
    if (!o.faces) {
      await writeFile(join(dir, `${o.camera}-${frame}.jpg`), jpeg);
      saved++;
      log(`saved ${o.camera}-${frame}.jpg (${saved}/${o.count})`);
      continue;
    }
    const faces = JSON.parse(res.headers.get('x-faces') ?? '[]') as { crop: Box }[];
    const meta = await sharp(jpeg).metadata();
    for (let i = 0; i < faces.length && saved < o.count; i++) {
      const r = clipBox(faces[i].crop, meta.width!, meta.height!);
      if (!r) continue;
      await sharp(jpeg).extract(r).jpeg({ quality: 92 }).toFile(join(dir, `${o.camera}-${frame}-${i}.jpg`));
      saved++;
      log(`saved ${o.camera}-${frame}-${i}.jpg (${saved}/${o.count})`);
    }
  }
  return saved;
}
