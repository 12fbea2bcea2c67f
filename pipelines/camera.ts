// One camera as the frame path sees it: where frames come from, how fast, which mode and options.
// Plain types; daemon/config (which validates a config file into them) re-exports them.

export type CameraDecoder = 'ffmpeg' | 'gstreamer-nv' | 'gstreamer-sw';

export type CameraMode = 'classify' | 'faces';

export interface CameraConfig {
  id: string;
  url: string;
  fps: number;
  loop: boolean;
  /**
   * classify: the whole frame (letterboxed to the model input) through the classifier.
   * faces: face detector, then each face classified; frames arrive at frameWidth x frameHeight.
   * Absent in a config file = faces; the embedded demo (no file) is classify.
   */
  mode: CameraMode;
  /** Working resolution of faces mode (letterboxed): boxes are in these pixels. Default 1280x720. */
  frameWidth?: number;
  frameHeight?: number;
  /** Who decodes: ffmpeg (default), GStreamer with Jetson hardware decode, GStreamer in software. */
  decoder?: CameraDecoder;
  /** classify mode: only this region [x, y, w, h] of the camera's picture (source pixels) is classified. */
  roi?: [number, number, number, number];
  /** faces mode: skip detection on frames without motion and republish the last result (docs/CONFIG.md). */
  motion?: CameraMotion;
}

/** Motion gating of one faces-mode camera, defaults filled in (pipelines/motion.ts, docs/DECISIONS.md D24). */
export interface CameraMotion {
  enabled: boolean;
  pixelThreshold: number;
  areaThreshold: number;
  maxReuseSec: number;
}
