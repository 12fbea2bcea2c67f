// What the frame path hands out: one result per frame, through a ResultSink (the daemon's MQTT,
// preview and logs). Plain types and the sink interface; nothing here runs.
import type { FaceResult } from './engines/protocol.js';
import type { FaceCounts, FrameLabel } from './face-events.js';
import type { Frame } from './sources/process-source.js';

export interface FrameResult {
  camera: string;
  frame: number;
  ts: string;
  label: string;
  score: number;
  scores: Record<string, number>;
  model: { name: string; version: string };
  latencyMs: number;
  inferMs: number;
}

/** A frame of a camera in faces mode: everything a FrameResult has, plus the faces. */
export interface FacesFrameResult extends Omit<FrameResult, 'label' | 'score'> {
  /** no_mask if any face is unmasked, mask if all are masked, no_face if none was found. */
  label: FrameLabel;
  /** Score of the deciding face (the most confident unmasked one, or the least confident masked one); null for no_face. */
  score: number | null;
  /** With tracking (issue 14): `label`/`score` are the face's track's verdict, `classified` whether it was read on this frame. */
  faces: (Pick<FaceResult, 'box' | 'label' | 'score' | 'detScore'> & { track?: number; classified?: boolean })[];
  counts: FaceCounts;
  /** The size the boxes are in (the camera's own resolution when known). */
  frameSize: [number, number];
  detector: { name: string; version: string };
  detectMs: number;
  classifyMs: number;
  /** Frames in the engine request this one was part of, when batched across cameras (> 1). */
  batch?: number;
  /** Motion gating: true when this frame was not detected and the result of frame `reusedFrom` was published again. */
  reused?: boolean;
  reusedFrom?: number;
  /** Detection cadence (issue 14): this frame was not detected; its faces are the tracks' predicted boxes. */
  predicted?: boolean;
}

/**
 * Where results go. `frame` is valid during the call (hold() it to keep it); faces-mode `workingFaces`
 * are the faces in the frame's own pixels (for drawing on it), r.faces in the camera's pixels.
 */
export interface ResultSink {
  classified(r: FrameResult, frame: Frame): void;
  /**
   * `classifyMsPerFace`: the classifier's time per face it read for this frame (its share of a
   * batch), absent when it read none (no face, a reused or predicted frame): the model's speed,
   * whatever the number of faces (OTA probation's latency check).
   */
  faces(r: FacesFrameResult, frame: Frame, workingFaces: readonly FaceResult[], classifyMsPerFace?: number): void;
}
