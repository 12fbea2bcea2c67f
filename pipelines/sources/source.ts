// A frame source as the frame path sees it: one camera, started and stopped, handing out frames.
// ProcessSource (ffmpeg, GStreamer) is the one kind there is; createSource picks the decoder.
import type { EventEmitter } from 'node:events';
import type { CameraConfig } from '../camera.js';
import { FfmpegSource } from './ffmpeg-source.js';
import { GstSource } from './gst-source.js';
import type { SourceStatus } from './process-source.js';
import type { SharedFrames } from './shared-frames.js';
import type { FrameFormat } from '../pre/yuv.js';

export type { Frame, SourceState, SourceStatus } from './process-source.js';

/** Events: 'frame' (Frame), 'state' (SourceState, reason?). */
export interface FrameSource extends EventEmitter {
  start(): void;
  stop(): Promise<void>;
  status(): SourceStatus;
  /** The decoder's process id while it runs. */
  readonly pid: number | undefined;
  /** The camera's own resolution, once known (null before). */
  readonly sourceSize: { width: number; height: number } | null;
  /** Kill the running decoder (the normal restart path takes over). */
  kill(reason: string): void;
}

export interface SourceSettings {
  ffmpegPath: string;
  rtspTimeoutSec: number;
  stallSec: number;
  restartMinMs: number;
  restartMaxMs: number;
  healthyResetSec?: number;
  /** The frame reader every camera's frames go through (D134). */
  frames: SharedFrames;
}

/** The source for a camera: its decoder, in the format and at the frame size the camera's mode asks for. */
export function createSource(cam: CameraConfig, size: { width: number; height: number; format: FrameFormat }, s: SourceSettings): FrameSource {
  const common = {
    id: cam.id,
    format: size.format,
    url: cam.url,
    fps: cam.fps,
    width: size.width,
    height: size.height,
    rtspTimeoutSec: s.rtspTimeoutSec,
    stallSec: s.stallSec,
    restartMinMs: s.restartMinMs,
    restartMaxMs: s.restartMaxMs,
    healthyResetSec: s.healthyResetSec,
    frames: s.frames,
    // the reader makes the motion gate's thumbnail, so the supervisor never reads the frame for it
    thumb: cam.mode === 'faces' && Boolean(cam.motion?.enabled),
  };
  if (cam.decoder === 'gstreamer-nv' || cam.decoder === 'gstreamer-sw') return new GstSource({ ...common, decoder: cam.decoder });
  return new FfmpegSource({ ...common, loop: cam.loop, ffmpegPath: s.ffmpegPath, ...(cam.roi ? { roi: cam.roi } : {}) });
}
