// The models the daemon runs by default (its faces-mode detector and the bundled classifier), read from
// their manifests, so the stage costs and the Python peer do the same work as the daemon they are
// compared with. Before round 4 both used UltraFace RFB-320 at 320x240 while the daemon had moved to the
// masked-face RFB-640 at 640x480 (D50): a quarter of the daemon's detector work.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_DETECTOR } from '../../daemon/config/config.js';

export interface BenchModels {
  detector: { manifest: string; file: string; width: number; height: number; scoreThreshold: number; iouThreshold: number };
  classifier: { manifest: string; file: string; noMaskThreshold: number; size: number };
}

export function benchModels(root: string): BenchModels {
  const dm = join(root, DEFAULT_DETECTOR);
  const d = JSON.parse(readFileSync(dm, 'utf8')) as { file: string; input: { width: number; height: number }; detect: { scoreThreshold: number; iouThreshold: number } };
  const cm = join(root, 'models/mask-mobilenet/model.json');
  const c = JSON.parse(readFileSync(cm, 'utf8')) as { file: string; labels: string[]; input: { width: number }; decision?: { label: string; threshold: number } };
  const noMaskThreshold = c.decision?.label === 'no_mask' ? c.decision.threshold : 0.5;
  return {
    detector: { manifest: dm, file: join(dirname(dm), d.file), width: d.input.width, height: d.input.height, scoreThreshold: d.detect.scoreThreshold, iouThreshold: d.detect.iouThreshold },
    classifier: { manifest: cm, file: join(dirname(cm), c.file), noMaskThreshold, size: c.input.width },
  };
}

/** The peer's arguments for these models. */
export function peerModelArgs(m: BenchModels): string[] {
  return [
    '--detector', m.detector.file, '--det-width', String(m.detector.width), '--det-height', String(m.detector.height),
    '--det-threshold', String(m.detector.scoreThreshold), '--det-iou', String(m.detector.iouThreshold),
    '--classifier', m.classifier.file, '--cls-size', String(m.classifier.size), '--no-mask-threshold', String(m.classifier.noMaskThreshold),
  ];
}
