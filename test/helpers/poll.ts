// Waiting on a condition in tests: poll it, never sleep a fixed time and hope.

/** Whether `pred` held within `ms` (polled every `stepMs`); the caller asserts on the answer. */
export async function until(pred: () => boolean, ms: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, stepMs));
  return pred();
}
