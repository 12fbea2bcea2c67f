// Motion gating in the frame path (faces mode, cameras[].motion.enabled): the pipeline asks
// offer() before a frame goes to the engine's slot. A frame without motion is not sent to the
// engine: the camera's last result is published again for it, marked reused. The gate itself is
// pure (pipelines/motion.ts); this class holds the per-camera state around it.
//
// While a frame of the camera is waiting in its slot or in flight, new frames go to the slot as
// before (newest wins): a result is never reused ahead of the detection that is on its way, so
// results stay in frame order and are never staler than the frame being detected.
import type { FaceResult } from './engines/protocol.js';
import { MotionGate, THUMB_COLUMNS, type MotionSample } from './motion.js';
import type { Frame } from './sources/process-source.js';
import type { CameraConfig } from './camera.js';
import type { FacesFrameResult } from './results.js';
import { latencyMs } from './clock.js';

interface CameraGate {
  gate: MotionGate;
  /** The last detected result and its faces in working pixels (for the preview). */
  last: { result: FacesFrameResult; workingFaces: readonly FaceResult[] } | null;
  /** seq of the newest frame handed to the slot whose result has not come back (or failed). */
  pending: number | null;
  reused: number;
}

export class MotionReuse {
  private cams = new Map<string, CameraGate>();
  /** The gate's sample of each frame sent towards detection, until its result arrives. */
  private samples = new WeakMap<Frame, MotionSample>();

  /** Gate this camera (faces mode with motion.enabled); others pass through untouched. */
  add(cam: CameraConfig): void {
    const m = cam.motion;
    if (cam.mode !== 'faces' || !m?.enabled) return;
    this.cams.set(cam.id, { gate: new MotionGate({ pixelThreshold: m.pixelThreshold, areaThreshold: m.areaThreshold, maxReuseSec: m.maxReuseSec }), last: null, pending: null, reused: 0 });
  }

  /**
   * A frame arrived. Returns the reused result to publish instead of detecting, or null: offer the
   * frame to the engine as usual.
   */
  offer(f: Frame): { result: FacesFrameResult; workingFaces: readonly FaceResult[] } | null {
    const c = this.cams.get(f.camera);
    if (!c) return null;
    // the reader's thumbnail when it made one (the pixels stay in their slot), else from the pixels
    const s = f.thumb && c.gate.opts.columns === THUMB_COLUMNS ? c.gate.checkThumb(f.thumb, f.width, f.height, f.mono) : c.gate.check(f.data, f.width, f.height, f.mono, f.format);
    if (s.decision === 'reuse' && c.last && c.pending === null) {
      c.reused++;
      // a copy of the detected result, less what described its engine request (batch)
      const { batch: _batch, ...r } = c.last.result;
      return {
        result: { ...r, frame: f.seq, ts: new Date(f.ts).toISOString(), latencyMs: latencyMs(f), inferMs: 0, detectMs: 0, classifyMs: 0, reused: true, reusedFrom: r.frame },
        workingFaces: c.last.workingFaces,
      };
    }
    this.samples.set(f, s);
    c.pending = f.seq;
    return null;
  }

  /** The engine's result for frame f: the reference for the gate and the result to reuse from now on. */
  detected(f: Frame, result: FacesFrameResult, workingFaces: readonly FaceResult[]): void {
    const c = this.cams.get(f.camera);
    if (!c) return;
    const s = this.samples.get(f);
    if (s) c.gate.detected(s, f.mono);
    c.last = { result, workingFaces };
  }

  /** Frame f left the engine (result published or failed): no longer pending unless a newer one is. */
  settled(f: Frame): void {
    const c = this.cams.get(f.camera);
    if (c && c.pending === f.seq) c.pending = null;
    this.samples.delete(f);
  }

  /** The camera restarted: its next frame is detected (the scene or the resolution may have changed). */
  reset(camera: string): void {
    this.cams.get(camera)?.gate.reset();
  }

  /** Frames of this camera answered with a reused result. */
  reusedCount(camera: string): number {
    return this.cams.get(camera)?.reused ?? 0;
  }
}
