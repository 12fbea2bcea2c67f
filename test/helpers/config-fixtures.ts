// Shared by the config tests (config.test.ts, config-sections.test.ts): fixtures, a fake package
// root with bundled models, and the ConfigError problem helpers.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type ConfigProblem } from '../../daemon/config/config.js';
import { classifierManifest } from './manifest-fixture.js';

/** The type of a subtest's `t`. */
export type TT = Parameters<Parameters<typeof t.test>[0]>[0];

export const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
// good.json holds a password: a checkout leaves it mode 0644, which loadConfig refuses
// (security.secretFilePermissions); tests load a 0600 copy of it.
const SECURE = t.testdir({});
export const fixture = (name: string) => {
  if (name !== 'good.json') return path.join(FIXTURES, name);
  const copy = path.join(SECURE, name);
  fs.copyFileSync(path.join(FIXTURES, name), copy);
  fs.chmodSync(copy, 0o600);
  return copy;
};

export const manifest = classifierManifest;

export const detectorManifest = () => ({
  ...manifest(), name: 'ultraface', task: 'detect', file: 'd.onnx',
  input: { name: 'input', layout: 'NCHW', width: 320, height: 240, colorOrder: 'RGB', resize: 'stretch' },
  output: { name: 'scores', kind: 'probabilities' },
  detect: { boxes: 'boxes', boxFormat: 'corners-normalized' },
  labels: ['BACKGROUND', 'face'],
});

/** A fake package root with the bundled model (valid manifest + dummy model.onnx) and the demo clip. */
export function packageRoot(t: TT, extra: Record<string, unknown> = {}): string {
  return t.testdir({
    models: {
      'mask-mobilenet': { 'model.json': JSON.stringify(manifest()), 'model.onnx': 'not really onnx' },
      'ultraface-rfb-320': { 'model.json': JSON.stringify(detectorManifest()), 'd.onnx': 'not really onnx' },
      'ultraface-masked-rfb-640': { 'model.json': JSON.stringify(detectorManifest()), 'd.onnx': 'not really onnx' },
      demo: { 'demo.mp4': 'not really mp4' },
    },
    test: { fixtures: { scenes: { 'scenes.mp4': 'not really mp4' } } },
    ...extra,
  });
}

export function problemsOf(t: TT, fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (e) {
    t.ok(e instanceof ConfigError, 'throws ConfigError');
    const err = e as ConfigError;
    t.equal(err.message, err.problems.map((p) => `${p.path}: ${p.message}`).join('\n'), 'message lists every problem, one per line');
    return err.problems;
  }
  t.fail('expected a ConfigError');
  return [];
}

export const paths = (ps: ConfigProblem[]) => ps.map((p) => p.path).sort();
export const find = (ps: ConfigProblem[], p: string) => ps.find((x) => x.path === p)?.message ?? '';
