// The engine as the frame path sees it: one worker (EngineSupervisor) or a pool of them (EnginePool).
// The pipeline, the model swap, OTA and the watchdog use only this.
import type { EventEmitter } from 'node:events';
import type { InferOutput } from './client.js';
import type { FramePixels } from './slots.js';
import type { FacesBatchResultMsg, FacesOptions, FacesResultMsg, FacesTracking, FrameFormat, LoadedMsg } from './protocol.js';

/** A camera frame for a faces request (format default rgb24). */
export interface EngineFrame {
  /** The pixels, or the shared-memory slot they are in (D134). */
  data: FramePixels;
  width: number;
  height: number;
  format?: FrameFormat;
  /** Issue 14: this frame's tracking hints in a batch (each frame is a different camera's). */
  tracking?: FacesTracking;
  /** Split layouts (D112): classify these regions of this frame, no detector. */
  crops?: [number, number, number, number][];
}

/** 'building': a load is building an engine (TensorRT, no cached engine), with the build timeout. */
export type EngineState = 'starting' | 'building' | 'ready' | 'restarting' | 'stopped';

/** What is being built while the state is 'building'. */
export interface EngineBuild {
  model: string;
  provider: string;
  reason: string;
  /** When the build started, on the monotonic clock (pipelines/clock.ts monoMs, D165). */
  since: number;
  /** The first start of this engine (nothing served yet), or a restart / a model swap's standby. */
  firstStart: boolean;
}

/** Events: 'ready' (LoadedMsg) when a worker becomes ready, 'down' (reason) when one goes down, 'building' (EngineBuild). */
export interface Engine extends EventEmitter {
  readonly ready: boolean;
  readonly state: EngineState;
  readonly restarts: number;
  readonly errors: number;
  readonly lastError: string | null;
  readonly pid: number | undefined;
  readonly loaded: LoadedMsg | null;
  readonly detectorLoaded: LoadedMsg | null;
  /** What is being built while a worker's state is 'building', else null. */
  readonly building: EngineBuild | null;
  /** Workers: how many requests may usefully be in flight at once. */
  readonly size: number;
  start(): Promise<LoadedMsg>;
  stop(): Promise<void>;
  infer(rgb: FramePixels, width: number, height: number): Promise<InferOutput>;
  faces(data: FramePixels, width: number, height: number, options: FacesOptions, format?: FrameFormat): Promise<FacesResultMsg>;
  facesBatch(frames: EngineFrame[], options: FacesOptions): Promise<FacesBatchResultMsg>;
}
