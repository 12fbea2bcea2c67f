// A constant-velocity Kalman filter for a face box, as SORT / ByteTrack use one: the state is the box
// centre and size with their velocities, in frames (one step = one camera frame). The four coordinates
// are filtered independently (a 2x2 covariance each): with diagonal noise the coupled filter
// separates exactly into these. Noise is scaled by the box height (DeepSORT's choice), so a large
// near face and a small far one are trusted alike. Pure: no clock, steps are passed in.

export type Box = [number, number, number, number]; // x, y, w, h

/** One coordinate: position p, velocity v, covariance [[a, b], [b, c]]. */
interface Axis {
  p: number;
  v: number;
  a: number;
  b: number;
  c: number;
}

/** Position and velocity noise per frame, as fractions of the box height. */
const STD_POS = 1 / 20;
const STD_VEL = 1 / 160;
/** Measurement noise, a fraction of the box height. */
const STD_MEAS = 1 / 20;

export interface KalmanState {
  axes: [Axis, Axis, Axis, Axis]; // cx, cy, w, h
}

export function kalmanInit(box: Box): KalmanState {
  const [x, y, w, h] = box;
  const p0 = (2 * STD_POS * h) ** 2;
  const v0 = (10 * STD_VEL * h) ** 2;
  const axis = (p: number): Axis => ({ p, v: 0, a: p0, b: 0, c: v0 });
  return { axes: [axis(x + w / 2), axis(y + h / 2), axis(w), axis(h)] };
}

/**
 * The state `steps` frames later (no measurement). The size follows its velocity for at most
 * `sizeSteps` of them: a face being covered shrinks fast, and extrapolating that over a long gap would
 * shrink its box to nothing.
 */
export function kalmanPredict(s: KalmanState, steps: number, sizeSteps = steps): KalmanState {
  if (steps <= 0) return s;
  const h = Math.max(1, s.axes[3].p);
  const q = (STD_POS * h) ** 2;
  const qv = (STD_VEL * h) ** 2;
  const axes = s.axes.map((ax, k) => {
    let { p, v, a, b, c } = ax;
    for (let i = 0; i < steps; i++) {
      // F = [[1, 1], [0, 1]]: P' = F P F^T + Q
      if (k < 2 || i < sizeSteps) p += v;
      const a2 = a + 2 * b + c + q;
      const b2 = b + c;
      const c2 = c + qv;
      a = a2;
      b = b2;
      c = c2;
    }
    return { p, v, a, b, c };
  }) as KalmanState['axes'];
  // a box never shrinks to nothing by extrapolation
  axes[2].p = Math.max(1, axes[2].p);
  axes[3].p = Math.max(1, axes[3].p);
  return { axes };
}

/** Correct a predicted state with a measured box. */
export function kalmanUpdate(s: KalmanState, box: Box): KalmanState {
  const [x, y, w, h] = box;
  const z = [x + w / 2, y + h / 2, w, h];
  const r = (STD_MEAS * Math.max(1, h)) ** 2;
  const axes = s.axes.map((ax, i) => {
    const { p, v, a, b, c } = ax;
    const sInn = a + r;
    const k0 = a / sInn;
    const k1 = b / sInn;
    const y0 = z[i] - p;
    return { p: p + k0 * y0, v: v + k1 * y0, a: (1 - k0) * a, b: (1 - k0) * b, c: c - k1 * b };
  }) as KalmanState['axes'];
  return { axes };
}

export function kalmanBox(s: KalmanState): Box {
  const [cx, cy, w, h] = s.axes.map((a) => a.p);
  return [cx - w / 2, cy - h / 2, w, h];
}
