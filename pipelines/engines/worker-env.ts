// The environment an engine worker starts with: the supervisor's, plus glibc malloc settings that
// keep each frame's buffers in the heap instead of handing them back to the kernel (D157).
//
// Every detector run returns its outputs in new ArrayBuffers (onnxruntime-node copies them out;
// ≈ 420 KB a frame for the masked-face RFB-640), which V8 frees only at its next collection. With
// glibc's defaults the heap grows by each frame's outputs and, once they are freed, is trimmed back
// (its dynamic trim threshold is twice the largest mapped block freed so far), so the next frames
// fault the same memory in again: 26–70 page faults a result in the daemon's worker on the bench's
// VM, about 1 ms of its ≈ 11 ms a result (≈ 100 a frame and 1.5–2 ms alone). Fixed thresholds
// keep up to MALLOC_TRIM_THRESHOLD_ of freed heap for reuse and leave only blocks of at least
// MALLOC_MMAP_THRESHOLD_ (model bytes, large batches) to their own mappings.
// Documented in mallopt(3); other C libraries ignore the variables.

/** glibc malloc thresholds for engine workers, in bytes (as mallopt(3) environment variables). */
export const WORKER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(4 << 20),
  MALLOC_TRIM_THRESHOLD_: String(16 << 20),
};

/** `base` with the worker's malloc settings added; a value already in `base` (an operator's) wins. Pure. */
export function workerEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...WORKER_MALLOC_ENV, ...base };
}
