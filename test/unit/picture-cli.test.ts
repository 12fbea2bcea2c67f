// The picture commands' shared command line (pipelines/picture-cli.ts): faces options and usage errors.
import t from 'tap';
import { CliExit, facesArgs, readPicture } from '../../pipelines/picture-cli.js';
import { FRAME_LABEL_MIN_FACE } from '../../pipelines/face-events.js';

t.test('options reach the faces request by their request names; the frame label has its default', async (t) => {
  const a = facesArgs({ margin: '0.3', 'score-threshold': '0.8', 'iou-threshold': '0.4', 'max-faces': '5', 'min-face-size': '12', model: 'm.json' });
  t.same(a.opts, { margin: 0.3, scoreThreshold: 0.8, iouThreshold: 0.4, maxFaces: 5, minFaceSize: 12 });
  t.equal(a.minLabelFace, FRAME_LABEL_MIN_FACE);
  t.same(facesArgs({}).opts, {}, 'an option not given is not sent');
  t.equal(facesArgs({ 'frame-label-min-face': '0' }).minLabelFace, 0);
});

t.test('a bad --frame-label-min-face is a usage error (64) naming the option', async (t) => {
  for (const v of ['-1', 'x']) {
    const e = (() => {
      try {
        facesArgs({ 'frame-label-min-face': v });
      } catch (err) {
        return err;
      }
    })();
    t.ok(e instanceof CliExit, v);
    t.equal((e as CliExit).code, 64);
    t.match((e as Error).message, `--frame-label-min-face must be a number ≥ 0, got ${v}`);
  }
});

t.test('a file that is not a picture: exit 65 naming it', async (t) => {
  const dir = t.testdir({ 'x.jpg': 'not a picture' });
  await t.rejects(readPicture(`${dir}/x.jpg`), { code: 65, message: /x\.jpg is not a readable image/ });
});
