// Two clocks (D165). The wall clock (Date.now()) stamps what people read: a frame's `ts`, an event's
// `at`, a health report's time. Intervals are measured on the monotonic clock: how long since the
// last frame, a restart window, how long a batch has waited, a frame's latency. A board without a
// battery-backed clock (many Jetson and Coral boards) starts with a wrong date and NTP steps it later,
// by months: measured on the wall clock, every camera would look stalled at once, and after a step
// back a stalled camera, a restart window or a waiting batch would not end until the clock caught up.
//
// monoMs() is process.hrtime (CLOCK_MONOTONIC), the same on every thread of the process: the frame
// reader's thread stamps frames with it and the main thread compares (performance.now() counts from
// each thread's own start, so it cannot be compared across threads).

/** Milliseconds on the monotonic clock (an arbitrary origin: only differences mean anything). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Whole ms since `since` (a monoMs() reading). */
export function elapsedMs(since: number, now = monoMs()): number {
  return Math.round(now - since);
}

/** A frame's capture→now latency in whole ms, on the monotonic clock (its `mono` stamp). */
export function latencyMs(f: { mono: number }, now = monoMs()): number {
  return elapsedMs(f.mono, now);
}
