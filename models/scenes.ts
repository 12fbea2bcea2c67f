// Scene ground truth (photos with hand-checked face boxes and labels) and the scoring of a face
// pipeline against it: faces found, found and labelled right, false boxes, per class and face size.
// Pure: parsing, matching and counting (`edgectl eval --scenes` runs the pipeline and prints this).

export const SCENES_FORMAT = 'mobilenet-edge/scenes@1';
export type Box = [number, number, number, number]; // x, y, width, height in image pixels

export interface TruthFace {
  box: Box;
  label: string;
}

export interface TruthImage {
  file: string;
  /** The frame label the picture should get (no_mask when any face is unmasked); optional. */
  label?: string;
  faces: TruthFace[];
  /** Regions whose faces are too small or hidden to judge: a box there is neither required nor false. */
  ignore: Box[];
  notes?: string;
}

export interface Truth {
  images: TruthImage[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBox = (v: unknown): v is Box => Array.isArray(v) && v.length === 4 && v.every((n) => typeof n === 'number' && Number.isFinite(n)) && v[2] > 0 && v[3] > 0;

/** Validate a parsed faces.json; throws one error listing every problem. */
export function parseTruth(raw: unknown, source = 'faces.json'): Truth {
  const p: string[] = [];
  if (!isObj(raw) || !Array.isArray(raw.images)) throw new Error(`${source}: expected {"format": "${SCENES_FORMAT}", "images": [...]}`);
  if (raw.format !== SCENES_FORMAT) p.push(`format: expected ${SCENES_FORMAT}, got ${JSON.stringify(raw.format)}`);
  const images = raw.images.map((im, i): TruthImage => {
    const at = `images[${i}]`;
    if (!isObj(im) || typeof im.file !== 'string' || !im.file || /[\\/]/.test(im.file)) {
      p.push(`${at}.file: expected a file name in the same folder`);
      return { file: '', faces: [], ignore: [] };
    }
    const faces = Array.isArray(im.faces) ? im.faces : (p.push(`${at}.faces: expected an array`), []);
    const ignore = im.ignore === undefined ? [] : Array.isArray(im.ignore) ? im.ignore : (p.push(`${at}.ignore: expected an array of boxes`), []);
    return {
      file: im.file,
      ...(typeof im.label === 'string' ? { label: im.label } : {}),
      faces: faces.map((f, k) => {
        if (!isObj(f) || !isBox(f.box) || typeof f.label !== 'string') p.push(`${at}.faces[${k}]: expected {box: [x, y, w, h], label}`);
        return isObj(f) ? { box: f.box as Box, label: String(f.label) } : { box: [0, 0, 1, 1] as Box, label: '' };
      }),
      ignore: ignore.filter((b, k) => isBox(b) || (p.push(`${at}.ignore[${k}]: expected [x, y, w, h]`), false)) as Box[],
      ...(typeof im.notes === 'string' ? { notes: im.notes } : {}),
    };
  });
  if (!images.length) p.push('images: empty');
  if (p.length) throw new Error(`${source}:\n  - ${p.join('\n  - ')}`);
  return { images };
}

export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const i = iw * ih;
  return i / (a[2] * a[3] + b[2] * b[3] - i);
}

export interface FoundFace {
  box: Box;
  label: string;
}

export interface ImageMatch {
  /** For each truth face, the index of the found face matched to it, or -1. */
  matchOf: number[];
  /** Found faces that match no truth face and lie in no ignore region. */
  falseBoxes: number[];
}

/** Greedy one-to-one matching by IoU (best pairs first), pairs below minIou are not matches. */
export function matchImage(truth: TruthImage, found: readonly FoundFace[], minIou = 0.4): ImageMatch {
  const pairs: { t: number; f: number; v: number }[] = [];
  truth.faces.forEach((tf, t) => found.forEach((ff, f) => {
    const v = boxIou(tf.box, ff.box);
    if (v >= minIou) pairs.push({ t, f, v });
  }));
  pairs.sort((a, b) => b.v - a.v);
  const matchOf = truth.faces.map(() => -1);
  const used = new Set<number>();
  for (const { t, f } of pairs) if (matchOf[t] < 0 && !used.has(f)) (matchOf[t] = f), used.add(f);
  // a box on an ignored face, or a second box on a found face, is not counted as false
  const falseBoxes = found
    .map((_, f) => f)
    .filter((f) => !used.has(f) && !truth.ignore.some((b) => boxIou(b, found[f].box) >= minIou) && !truth.faces.some((tf) => boxIou(tf.box, found[f].box) >= minIou));
  return { matchOf, falseBoxes };
}

export interface ClassCount {
  faces: number;
  found: number;
  right: number;
}

export interface SceneReport {
  images: number;
  /** Per truth label: all faces, and faces at least minSize px tall. */
  perClass: Record<string, ClassCount>;
  perClassLarge: Record<string, ClassCount>;
  minSize: number;
  /** Per size bin (face height in px) and truth label. */
  bySize: { from: number; to: number; perClass: Record<string, ClassCount> }[];
  falseBoxes: number;
  /** False boxes per label the pipeline gave them (a false box called no_mask is a false alarm). */
  falseByLabel: Record<string, number>;
  frames: { file: string; expected?: string; got: string; right?: boolean; faces: number; found: number; right_: number; falseBoxes: number }[];
}

const SIZE_BINS = [0, 24, 40, 80, 160, Infinity];

/** Score a pipeline over the truth: `results[i]` are the faces found in truth.images[i] and the frame label given. */
export function sceneReport(truth: Truth, results: readonly { faces: readonly FoundFace[]; frameLabel: string }[], o: { minIou?: number; minSize?: number } = {}): SceneReport {
  const minSize = o.minSize ?? 40;
  const count = () => ({ faces: 0, found: 0, right: 0 });
  const perClass: Record<string, ClassCount> = {}, perClassLarge: Record<string, ClassCount> = {};
  const bySize = SIZE_BINS.slice(0, -1).map((from, i) => ({ from, to: SIZE_BINS[i + 1], perClass: {} as Record<string, ClassCount> }));
  const falseByLabel: Record<string, number> = {};
  let falseBoxes = 0;
  const frames: SceneReport['frames'] = [];
  truth.images.forEach((im, i) => {
    const r = results[i];
    const m = matchImage(im, r.faces, o.minIou);
    let found = 0, right = 0;
    im.faces.forEach((tf, t) => {
      const f = m.matchOf[t];
      const ok = f >= 0, isRight = ok && r.faces[f].label === tf.label;
      found += +ok;
      right += +isRight;
      const bins = [perClass, ...(tf.box[3] >= minSize ? [perClassLarge] : []), bySize.find((b) => tf.box[3] >= b.from && tf.box[3] < b.to)!.perClass];
      for (const c of bins) {
        const k = (c[tf.label] ??= count());
        k.faces++;
        k.found += +ok;
        k.right += +isRight;
      }
    });
    for (const f of m.falseBoxes) falseByLabel[r.faces[f].label] = (falseByLabel[r.faces[f].label] ?? 0) + 1;
    falseBoxes += m.falseBoxes.length;
    frames.push({ file: im.file, ...(im.label ? { expected: im.label, right: im.label === r.frameLabel } : {}), got: r.frameLabel, faces: im.faces.length, found, right_: right, falseBoxes: m.falseBoxes.length });
  });
  return { images: truth.images.length, perClass, perClassLarge, minSize, bySize, falseBoxes, falseByLabel, frames };
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');

/** The report as text lines. */
export function formatSceneReport(r: SceneReport): string[] {
  const out: string[] = [];
  const row = (name: string, c: ClassCount) => `${name.padEnd(10)} ${String(c.faces).padStart(5)} ${`${c.found} (${pct(c.found, c.faces)})`.padStart(14)} ${`${c.right} (${pct(c.right, c.faces)})`.padStart(14)}`;
  out.push(`images: ${r.images}`);
  out.push('', `class      faces          found    found+right`);
  for (const [l, c] of Object.entries(r.perClass)) out.push(row(l, c));
  out.push('', `faces at least ${r.minSize} px tall`);
  for (const [l, c] of Object.entries(r.perClassLarge)) out.push(row(l, c));
  out.push('', 'by face height (px): found / faces per class');
  for (const b of r.bySize) {
    const cells = Object.entries(b.perClass).map(([l, c]) => `${l} ${c.found}/${c.faces}`);
    if (cells.length) out.push(`  ${String(b.from).padStart(3)}-${b.to === Infinity ? '' : b.to}`.padEnd(12) + cells.join('  '));
  }
  out.push('', `false boxes: ${r.falseBoxes}${r.falseBoxes ? ` (${Object.entries(r.falseByLabel).map(([l, n]) => `${n} read as ${l}`).join(', ')})` : ''}`);
  out.push('', 'frames (expected → got):');
  for (const f of r.frames) out.push(`  ${f.right === false ? '✗' : f.right ? '✓' : ' '} ${f.file}: ${f.expected ?? '?'} → ${f.got}; ${f.found}/${f.faces} found, ${f.right_} right, ${f.falseBoxes} false`);
  return out;
}
