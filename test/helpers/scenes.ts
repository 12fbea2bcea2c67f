// The scene clip's ground truth (test/fixtures/scenes: scenes.mp4 and the hand-checked scenes.json),
// shared by the faces-mode integration tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Box = [number, number, number, number];

export interface ScenesTruth {
  frames: number;
  framesPerScene: number;
  width: number;
  height: number;
  scenes: { image: string; label: string; faces: { box: Box; label: string }[] }[];
}

export const scenesDir = join(import.meta.dirname, '..', 'fixtures', 'scenes');
export const scenesClip = join(scenesDir, 'scenes.mp4');
export const scenesTruth = JSON.parse(readFileSync(join(scenesDir, 'scenes.json'), 'utf8')) as ScenesTruth;

/** [x, y, w, h] → corners, for models/detect.ts iou(). */
export const corners = ([x, y, w, h]: Box) => ({ x1: x, y1: y, x2: x + w, y2: y + h });
