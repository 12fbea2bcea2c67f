// The frame reader (D134, D174) that sources need: the real reader and its slot folder, stopped
// (reader closed, folder deleted) when the test ends.
import { SharedFrames } from '../../pipelines/sources/shared-frames.js';

export function sharedFrames(t: { teardown: (fn: () => unknown) => void }, dir?: string): SharedFrames {
  const s = new SharedFrames(dir ? { dir } : {});
  s.start();
  t.teardown(() => s.stop());
  return s;
}
