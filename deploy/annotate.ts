// edgectl annotate: run the daemon's faces pipeline on one picture and draw the result.
// deploy/ may not import pipelines/ or daemon/, so both are run as child processes of the same package:
//   1. with --config: `mobilenet-edge --print-config --config FILE` resolves the config exactly as the
//      daemon does (defaults < file < env, relative model paths) and prints it as JSON;
//   2. `pipelines/annotate-main` starts the engine worker, sends one faces request, draws the boxes.
import { spawn } from 'node:child_process';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../models/paths.js';

export interface AnnotateOptions {
  image: string;
  out: string;
  config?: string;
  model?: string;
  detector?: string;
}

export function run(cmd: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The sibling entry point (.ts under a TypeScript loader in tests, .js when built). */
export function entry(rel: string): string[] {
  const ext = extname(fileURLToPath(import.meta.url));
  const file = fileURLToPath(new URL(`../${rel}${ext}`, import.meta.url));
  return [process.execPath, ...(ext === '.ts' ? process.execArgv : []), file];
}

/** Returns the faces JSON line printed by annotate-main; throws with its message on failure. */
export async function annotate(o: AnnotateOptions): Promise<string> {
  const root = packageRoot();
  let model = o.model ?? join(root, 'models/mask-mobilenet/model.json');
  let detector = o.detector ?? join(root, 'models/ultraface-masked-rfb-640/model.json');
  const extra: string[] = [];
  if (o.config) {
    const r = await run([...entry('daemon/main'), '--print-config', '--config', o.config]);
    if (r.code !== 0) throw new Error(`config ${o.config} is not valid: ${(r.stdout + r.stderr).trim().split('\n').join('; ')}`); // edgectl prints one line
    const c = JSON.parse(r.stdout);
    model = o.model ?? c.model.path;
    detector = o.detector ?? c.faces.detector;
    const f = c.faces;
    extra.push('--margin', String(f.margin), '--max-faces', String(f.maxFaces), '--min-face-size', String(f.minFaceSize), '--frame-label-min-face', String(f.frameLabelMinFace));
    if (f.scoreThreshold > 0) extra.push('--score-threshold', String(f.scoreThreshold));
    if (f.iouThreshold > 0) extra.push('--iou-threshold', String(f.iouThreshold));
  }
  const r = await run([...entry('pipelines/annotate-main'), o.image, '-o', o.out, '--model', model, '--detector', detector, ...extra]);
  if (r.code !== 0) throw new Error(r.stderr.trim().split('\n').filter((l) => !l.startsWith('engine:')).join('\n') || `annotate exited with code ${r.code}`);
  return r.stdout.trim();
}
