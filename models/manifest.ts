// The model manifest (model.json) that sits beside every model file.
// Pure parsing and validation: no file or engine access here.
import { decisionProblems, type DecisionRule } from './decision.js';
import { updateMetaProblems, type UpdateMeta } from './update-meta.js';

export const MANIFEST_FORMAT = 'mobilenet-edge/model@1';

export type Layout = 'NCHW' | 'NHWC';
export type ColorOrder = 'RGB' | 'BGR';
export type Resize = 'letterbox' | 'stretch';
export type OutputKind = 'probabilities' | 'logits';
export type Task = 'classify' | 'detect';
/** Which engine a model file is for: an ONNX graph, an Edge TPU-compiled TFLite, a plain (CPU) TFLite. */
export type ModelEngine = 'onnxruntime' | 'edgetpu' | 'tflite';
export const MODEL_ENGINES: readonly ModelEngine[] = ['onnxruntime', 'edgetpu', 'tflite'];

/** One model file of a bundle and the engine it is for. */
export interface ModelFileRef {
  engine: ModelEngine;
  file: string;
  sha256: string;
}

export interface ManifestInput {
  name: string;
  layout: Layout;
  width: number;
  height: number;
  colorOrder: ColorOrder;
  /** How a frame of another aspect ratio is fitted: letterbox pads with padColor, stretch ignores aspect. */
  resize: Resize;
  padColor: [number, number, number];
}

/** Per channel: x = (pixel * scale - mean[c]) / std[c], pixel in 0..255 in colorOrder. */
export interface Preprocess {
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ManifestOutput {
  name: string;
  kind: OutputKind;
}

/**
 * Detector outputs (task "detect"): `output` names the per-anchor class scores [1, N, labels],
 * `boxes` the per-anchor boxes [1, N, 4] in `boxFormat`; default thresholds for decoding.
 */
export interface DetectSpec {
  boxes: string;
  /**
   * corners-normalized: x1, y1, x2, y2 normalised to 0..1 of the (stretched) input, per anchor, NMS to do —
   * UltraFace's "with post-processing" graphs (onnxruntime worker).
   * ssd-postprocess: TFLite_Detection_PostProcess outputs, boxes ymin, xmin, ymax, xmax in 0..1, NMS done,
   * `output` = the scores, `count` = the valid rows — Coral's SSD face detector (Edge TPU worker).
   */
  boxFormat: 'corners-normalized' | 'ssd-postprocess';
  /** ssd-postprocess: the output holding the number of valid rows (optional). */
  count?: string;
  scoreThreshold: number;
  iouThreshold: number;
}

export interface Manifest {
  format: string;
  name: string;
  version: string;
  task: Task;
  /** Model file name, relative to the manifest's folder; no path separators. */
  file: string;
  sha256: string;
  /** Engine of `file`; absent = "onnxruntime" (manifests written before engines existed). */
  engine?: ModelEngine;
  /** Further files of the bundle for other engines (e.g. a *_edgetpu.tflite beside the ONNX). */
  files?: ModelFileRef[];
  input: ManifestInput;
  preprocess: Preprocess;
  output: ManifestOutput;
  labels: string[];
  /** Required for task "detect": how to read boxes and scores. */
  detect?: DetectSpec;
  /** Optional: name of the pooled-feature tensor (for on-device head training). */
  features?: string;
  /** Free-form training summary written by the recipe. */
  training?: Record<string, unknown>;
  /** Optional (classifiers): the decision rule that picks a face's label from the probabilities (models/decision.ts). */
  decision?: DecisionRule;
  /** Optional test vectors: raw RGB24 frames at the input size and the label each must give (checked before a hot swap). */
  tests?: TestVector[];
  /** Update metadata (targets, expiry, sequence), signed with the manifest: models/update-meta.ts. */
  update?: UpdateMeta;
}

/** A test vector: `file` holds width·height·3 bytes of RGB24 (no header); `label` is the expected top label. */
export interface TestVector {
  file: string;
  sha256: string;
  label: string;
}

export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid model manifest ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ManifestError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

const TOP_KEYS = ['format', 'name', 'version', 'task', 'file', 'sha256', 'engine', 'files', 'input', 'preprocess', 'output', 'labels', 'detect', 'features', 'training', 'tests', 'decision', 'update'];
const INPUT_KEYS = ['name', 'layout', 'width', 'height', 'colorOrder', 'resize', 'padColor'];

function triple(v: unknown, path: string, problems: string[], check: (n: number) => boolean): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((n) => typeof n === 'number' && Number.isFinite(n) && check(n))) {
    problems.push(`${path}: expected 3 numbers, got ${JSON.stringify(v)}`);
    return [0, 0, 0];
  }
  return [v[0], v[1], v[2]];
}

function unknownKeys(o: Obj, allowed: string[], path: string, problems: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${path}${k}: unknown key`);
}

/**
 * Validate a parsed model.json. Returns the typed manifest or throws ManifestError listing
 * every problem with its key path.
 */
export function parseManifest(raw: unknown, source = 'model.json'): Manifest {
  const p: string[] = [];
  if (!isObj(raw)) throw new ManifestError(source, ['the manifest must be a JSON object']);
  unknownKeys(raw, TOP_KEYS, '', p);
  const str = (o: Obj, k: string, path: string, re?: RegExp, what?: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0) {
      p.push(`${path}${k}: expected a non-empty string`);
      return '';
    }
    if (re && !re.test(v)) p.push(`${path}${k}: ${JSON.stringify(v)} is not ${what}`);
    return v;
  };
  const oneOf = <T extends string>(o: Obj, k: string, path: string, allowed: readonly T[]): T => {
    const v = o[k];
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      p.push(`${path}${k}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
      return allowed[0];
    }
    return v as T;
  };
  const posInt = (o: Obj, k: string, path: string, max: number): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      p.push(`${path}${k}: expected an integer 1..${max}, got ${JSON.stringify(v)}`);
      return 1;
    }
    return v;
  };

  const format = str(raw, 'format', '');
  if (format && format !== MANIFEST_FORMAT) p.push(`format: expected ${MANIFEST_FORMAT}, got ${JSON.stringify(format)}`);
  const name = str(raw, 'name', '', SAFE_NAME, 'a safe name (letters, digits, . _ -)');
  const version = str(raw, 'version', '', VERSION, 'a version string');
  const task = oneOf(raw, 'task', '', ['classify', 'detect'] as const);
  const file = str(raw, 'file', '', SAFE_NAME, 'a plain file name (no path)');
  const sha256 = str(raw, 'sha256', '', SHA256, 'a lowercase hex sha256');

  let input: ManifestInput = { name: '', layout: 'NCHW', width: 1, height: 1, colorOrder: 'RGB', resize: 'letterbox', padColor: [0, 0, 0] };
  if (!isObj(raw.input)) p.push('input: expected an object');
  else {
    const i = raw.input;
    unknownKeys(i, INPUT_KEYS, 'input.', p);
    input = {
      name: str(i, 'name', 'input.'),
      layout: oneOf(i, 'layout', 'input.', ['NCHW', 'NHWC'] as const),
      width: posInt(i, 'width', 'input.', 4096),
      height: posInt(i, 'height', 'input.', 4096),
      colorOrder: oneOf(i, 'colorOrder', 'input.', ['RGB', 'BGR'] as const),
      resize: i.resize === undefined ? 'letterbox' : oneOf(i, 'resize', 'input.', ['letterbox', 'stretch'] as const),
      padColor: i.padColor === undefined ? [0, 0, 0] : triple(i.padColor, 'input.padColor', p, (n) => Number.isInteger(n) && n >= 0 && n <= 255),
    };
  }

  let preprocess: Preprocess = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
  if (!isObj(raw.preprocess)) p.push('preprocess: expected an object');
  else {
    const pp = raw.preprocess;
    unknownKeys(pp, ['scale', 'mean', 'std'], 'preprocess.', p);
    const scale = pp.scale;
    if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0) p.push(`preprocess.scale: expected a non-zero number, got ${JSON.stringify(scale)}`);
    preprocess = {
      scale: typeof scale === 'number' ? scale : 1,
      mean: triple(pp.mean, 'preprocess.mean', p, () => true),
      std: triple(pp.std, 'preprocess.std', p, (n) => n !== 0),
    };
  }

  let output: ManifestOutput = { name: '', kind: 'probabilities' };
  if (!isObj(raw.output)) p.push('output: expected an object');
  else {
    unknownKeys(raw.output, ['name', 'kind'], 'output.', p);
    output = { name: str(raw.output, 'name', 'output.'), kind: oneOf(raw.output, 'kind', 'output.', ['probabilities', 'logits'] as const) };
  }

  let labels: string[] = [];
  if (!Array.isArray(raw.labels) || raw.labels.length < 1) p.push('labels: expected a non-empty array of strings');
  else {
    labels = raw.labels.map((l, i) => {
      if (typeof l !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(l)) p.push(`labels[${i}]: ${JSON.stringify(l)} is not a label (letters, digits, _ -)`);
      return String(l);
    });
    if (new Set(labels).size !== labels.length) p.push('labels: duplicate labels');
  }
  let detect: DetectSpec | undefined;
  if (task === 'detect' && raw.detect === undefined) p.push('detect: required for task "detect" ({boxes, boxFormat, scoreThreshold, iouThreshold})');
  if (raw.detect !== undefined) {
    if (task !== 'detect') p.push('detect: only for task "detect"');
    if (!isObj(raw.detect)) p.push('detect: expected an object');
    else {
      const d = raw.detect;
      unknownKeys(d, ['boxes', 'boxFormat', 'scoreThreshold', 'iouThreshold', 'count'], 'detect.', p);
      const unit = (k: string, def: number): number => {
        const v = d[k];
        if (v === undefined) return def;
        if (typeof v !== 'number' || !(v > 0 && v < 1)) p.push(`detect.${k}: expected a number in (0, 1), got ${JSON.stringify(v)}`);
        return typeof v === 'number' ? v : def;
      };
      detect = { boxes: str(d, 'boxes', 'detect.'), boxFormat: oneOf(d, 'boxFormat', 'detect.', ['corners-normalized', 'ssd-postprocess'] as const), scoreThreshold: unit('scoreThreshold', 0.7), iouThreshold: unit('iouThreshold', 0.3) };
      if (d.count !== undefined) {
        if (detect.boxFormat !== 'ssd-postprocess') p.push('detect.count: only for boxFormat "ssd-postprocess"');
        else detect.count = str(d, 'count', 'detect.');
      }
    }
  }
  if (task === 'detect' && labels.length < 2) p.push('labels: a detector needs a background label and at least one class');
  if (raw.features !== undefined && typeof raw.features !== 'string') p.push('features: expected a tensor name');
  if (raw.training !== undefined && !isObj(raw.training)) p.push('training: expected an object');

  let engine: ModelEngine | undefined;
  if (raw.engine !== undefined) engine = oneOf(raw, 'engine', '', MODEL_ENGINES);
  let files: ModelFileRef[] | undefined;
  if (raw.files !== undefined) {
    if (!Array.isArray(raw.files)) p.push('files: expected an array of {engine, file, sha256}');
    else {
      // an invalid `engine` is reported once, not again as a clash with every file
      const engineValid = raw.engine === undefined || MODEL_ENGINES.includes(raw.engine as ModelEngine);
      const seen = new Set<string>(engineValid ? [engine ?? 'onnxruntime'] : []);
      files = raw.files.map((f, i) => {
        const at = `files[${i}].`;
        if (!isObj(f)) {
          p.push(`files[${i}]: expected an object {engine, file, sha256}`);
          return { engine: 'onnxruntime' as ModelEngine, file: '', sha256: '' };
        }
        unknownKeys(f, ['engine', 'file', 'sha256'], at, p);
        const ref = { engine: oneOf(f, 'engine', at, MODEL_ENGINES), file: str(f, 'file', at, SAFE_NAME, 'a plain file name (no path)'), sha256: str(f, 'sha256', at, SHA256, 'a lowercase hex sha256') };
        if (seen.has(ref.engine)) p.push(`${at}engine: the bundle already has a file for ${ref.engine}`);
        seen.add(ref.engine);
        return ref;
      });
    }
  }

  let tests: TestVector[] | undefined;
  if (raw.tests !== undefined) {
    if (!Array.isArray(raw.tests)) p.push('tests: expected an array of {file, sha256, label}');
    else
      tests = raw.tests.map((v, i) => {
        const at = `tests[${i}].`;
        if (!isObj(v)) {
          p.push(`tests[${i}]: expected an object {file, sha256, label}`);
          return { file: '', sha256: '', label: '' };
        }
        unknownKeys(v, ['file', 'sha256', 'label'], at, p);
        const tv = { file: str(v, 'file', at, SAFE_NAME, 'a plain file name (no path)'), sha256: str(v, 'sha256', at, SHA256, 'a lowercase hex sha256'), label: str(v, 'label', at) };
        if (tv.label && labels.length && !labels.includes(tv.label)) p.push(`${at}label: ${JSON.stringify(tv.label)} is not one of the labels`);
        return tv;
      });
  }

  let decision: DecisionRule | undefined;
  if (raw.decision !== undefined) {
    const dp = task === 'classify' ? decisionProblems(raw.decision, labels) : ['decision: only for task "classify"'];
    p.push(...dp);
    if (!dp.length) {
      const d = raw.decision as Obj;
      decision = { label: d.label as string, threshold: d.threshold as number, ...(typeof d.chosenFor === 'string' ? { chosenFor: d.chosenFor } : {}) };
    }
  }
  if (raw.update !== undefined) p.push(...updateMetaProblems(raw.update));

  if (p.length) throw new ManifestError(source, p);
  const m: Manifest = { format, name, version, task, file, sha256, input, preprocess, output, labels };
  if (engine) m.engine = engine;
  if (files) m.files = files;
  if (detect) m.detect = detect;
  if (typeof raw.features === 'string') m.features = raw.features;
  if (isObj(raw.training)) m.training = raw.training;
  if (tests) m.tests = tests;
  if (decision) m.decision = decision;
  if (raw.update !== undefined) m.update = raw.update as UpdateMeta;
  return m;
}

/** The bundle's file for an engine (the primary `file` or one of `files`), or undefined. */
export function modelFileFor(m: Manifest, engine: ModelEngine): ModelFileRef | undefined {
  if ((m.engine ?? 'onnxruntime') === engine) return { engine, file: m.file, sha256: m.sha256 };
  return m.files?.find((f) => f.engine === engine);
}

/** Every file of the bundle with its engine, the primary one first. */
export function modelFiles(m: Manifest): ModelFileRef[] {
  return [{ engine: m.engine ?? 'onnxruntime', file: m.file, sha256: m.sha256 }, ...(m.files ?? [])];
}

/** The tensor shape the manifest promises for its input, batch 1. */
export function inputShape(m: Manifest): number[] {
  const { width: w, height: h } = m.input;
  return m.input.layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3];
}

export interface GraphIO {
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
}

/**
 * Compare a manifest with the I/O a loaded graph reports. Returns the list of mismatches
 * (empty when they agree). Symbolic dimensions (strings, or -1) match anything.
 */
export function checkGraph(m: Manifest, io: GraphIO): string[] {
  const problems: string[] = [];
  const fits = (want: number, got: number | string | undefined) => typeof got !== 'number' || got < 0 || got === want;
  const inp = io.inputs.find((i) => i.name === m.input.name);
  if (!inp) problems.push(`input "${m.input.name}" is not in the graph (graph inputs: ${io.inputs.map((i) => i.name).join(', ') || 'none'})`);
  else {
    const want = inputShape(m);
    if (inp.shape.length !== 4 || !want.every((d, k) => fits(d, inp.shape[k])))
      problems.push(`input "${inp.name}" has shape [${inp.shape.join(', ')}] but the manifest says ${m.input.layout} [${want.join(', ')}]`);
  }
  const out = io.outputs.find((o) => o.name === m.output.name);
  if (!out) problems.push(`output "${m.output.name}" is not in the graph (graph outputs: ${io.outputs.map((o) => o.name).join(', ') || 'none'})`);
  else {
    const last = out.shape[out.shape.length - 1];
    if (typeof last === 'number' && last > 0 && last !== m.labels.length)
      problems.push(`output "${out.name}" has ${last} classes but the manifest lists ${m.labels.length} labels (${m.labels.join(', ')})`);
  }
  if (m.task === 'detect' && m.detect) {
    const boxes = io.outputs.find((o) => o.name === m.detect!.boxes);
    if (!boxes) problems.push(`boxes output "${m.detect.boxes}" is not in the graph (graph outputs: ${io.outputs.map((o) => o.name).join(', ') || 'none'})`);
    else {
      const last = boxes.shape[boxes.shape.length - 1];
      if (boxes.shape.length !== 3 || (typeof last === 'number' && last > 0 && last !== 4))
        problems.push(`boxes output "${boxes.name}" has shape [${boxes.shape.join(', ')}], expected [1, anchors, 4]`);
      const anchors = (s: (number | string)[]) => (typeof s[1] === 'number' && s[1] > 0 ? s[1] : undefined);
      if (out && anchors(out.shape) !== undefined && anchors(boxes.shape) !== undefined && anchors(out.shape) !== anchors(boxes.shape))
        problems.push(`scores "${out.name}" and boxes "${boxes.name}" disagree on the number of anchors (${out.shape[1]} vs ${boxes.shape[1]})`);
    }
  }
  return problems;
}
