// Compare published labels with a looping clip's ground truth. Results carry the camera's frame
// sequence number; the only unknown is where in the loop the stream was when ffmpeg connected, so try
// every offset and keep the best one.
export interface Alignment {
  offset: number;
  total: number;
  correct: number;
  accuracy: number;
  wrong: { frame: number; label: string; expected: string }[];
}

export function alignLabels(results: { frame: number; label: string }[], truth: string[]): Alignment {
  const n = truth.length;
  let best = { offset: 0, correct: -1 };
  for (let off = 0; off < n; off++) {
    let c = 0;
    for (const r of results) if (truth[(((r.frame + off) % n) + n) % n] === r.label) c++;
    if (c > best.correct) best = { offset: off, correct: c };
  }
  const wrong = results
    .filter((r) => truth[(((r.frame + best.offset) % n) + n) % n] !== r.label)
    .map((r) => ({ frame: r.frame, label: r.label, expected: truth[(((r.frame + best.offset) % n) + n) % n] }));
  return { offset: best.offset, total: results.length, correct: best.correct, accuracy: results.length ? best.correct / results.length : 0, wrong };
}
