// A camera's mode as a strategy: what size its frames are, and what one engine request for its
// frames is and makes of the answer. The pipeline (scheduling) does not know the modes apart.
import type { Manifest } from '../../models/manifest.js';
import type { CameraConfig } from '../camera.js';
import type { Engine } from '../engines/engine.js';
import type { Frame } from '../sources/process-source.js';
import type { FrameFormat } from '../pre/yuv.js';

/** What a mode may read of the pipeline while it runs a request. */
export interface ModeContext {
  /** The model the frames go to now (changes on a hot swap). */
  readonly manifest: Manifest;
  /** The camera's own resolution, when its source knows it. */
  sourceSize(camera: string): { width: number; height: number } | null;
  /** One more result published for this camera. */
  counted(camera: string): void;
}

export interface Mode {
  readonly name: 'classify' | 'faces';
  /** Several frames (of different cameras) may go in one request. */
  readonly batches: boolean;
  /** The frames this camera's source must deliver: format, and size (for i420 the most it may be). */
  frameSize(cam: CameraConfig, manifest: Manifest): { width: number; height: number; format: FrameFormat };
  /** One engine request for `frames` (one per camera), results out; rejects when the engine failed. */
  run(frames: Frame[], engine: Engine, ctx: ModeContext): Promise<void>;
}
