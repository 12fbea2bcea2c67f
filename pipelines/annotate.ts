// Drawing faces on a picture: an SVG overlay (boxes, labels, scores) composited with sharp.
// Used by `edgectl annotate` (through pipelines/annotate-main.ts) and the live preview.
import sharp from 'sharp';
import type { FaceResult } from './engines/protocol.js';

const COLORS: Record<string, string> = { mask: '#1db954', no_mask: '#e53935' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The overlay for a width x height picture: one box per face with "label score", and the frame label. */
export function overlaySvg(width: number, height: number, faces: readonly Pick<FaceResult, 'box' | 'label' | 'score' | 'detScore'>[], frameLabel?: string): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(11, Math.round(Math.min(width, height) / 45));
  const parts = faces.map((f) => {
    const [x, y, w, h] = f.box;
    const c = COLORS[f.label] ?? '#ffb300';
    const text = `${f.label} ${f.score.toFixed(2)}`;
    const ty = y - font * 1.3 >= 0 ? y - font * 1.3 : y + h;
    const tw = Math.round(text.length * font * 0.6 + 6);
    const tx = Math.max(0, Math.min(x, width - tw)); // keep the label inside the picture
    return (
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${c}" stroke-width="${stroke}"/>` +
      `<rect x="${tx}" y="${ty}" width="${tw}" height="${Math.round(font * 1.3)}" fill="${c}"/>` +
      `<text x="${tx + 3}" y="${ty + font}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#fff">${esc(text)}</text>`
    );
  });
  if (frameLabel !== undefined) {
    const text = `${frameLabel} (${faces.length} face${faces.length === 1 ? '' : 's'})`;
    parts.push(
      `<rect x="0" y="0" width="${Math.round(text.length * font * 0.6 + 10)}" height="${Math.round(font * 1.5)}" fill="#000" fill-opacity="0.6"/>` +
        `<text x="5" y="${Math.round(font * 1.15)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#fff">${esc(text)}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Draw the faces on packed RGB24 pixels and encode a JPEG. */
export async function drawFaces(rgb: Buffer, width: number, height: number, faces: readonly Pick<FaceResult, 'box' | 'label' | 'score' | 'detScore'>[], frameLabel?: string, quality = 85): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(overlaySvg(width, height, faces, frameLabel)), top: 0, left: 0 }])
    .jpeg({ quality })
    .toBuffer();
}
