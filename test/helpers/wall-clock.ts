// A step of the wall clock inside the test process (D165): Date.now() returns the real time shifted
// by `ms` until restore() or the end of the test. What the daemon times on the monotonic clock
// (pipelines/clock.ts) must not notice.
export const YEAR_MS = 365 * 24 * 3600_000;

const realNow = Date.now;

/** The real wall clock, whatever step is in place. */
export const realWallMs = (): number => realNow();

/** Step the wall clock by `ms`; returns restore() (also called when the test ends). */
export function stepWallClock(t: { teardown: (fn: () => unknown) => void }, ms: number): () => void {
  const restore = () => void (Date.now = realNow);
  Date.now = () => realNow() + ms;
  t.teardown(restore);
  return restore;
}
