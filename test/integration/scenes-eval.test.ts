// edgectl eval --scenes (built) on the repo's scene photos (test/fixtures/scenes/faces.json, hand-checked
// boxes and labels): the bundled detector + classifier + decision rule through the engine worker, scored
// against the ground truth. The floors are the acceptance bars where the shipped models meet them.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FRAME_LABEL_MIN_FACE, frameLabel } from '../../pipelines/face-events.js';

const root = join(import.meta.dirname, '..', '..');
const scenes = join(root, 'test/fixtures/scenes');
const run = (args: string[]) => promisify(execFile)(process.execPath, [join(root, 'dist/deploy/edgectl.js'), ...args], { cwd: root, maxBuffer: 1 << 24 }).then(
  (r) => ({ code: 0, ...r }),
  (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
);
type Count = { faces: number; found: number; right: number };

t.test('the shipped detector and classifier on the scene photos', async (t) => {
  const r = await run(['eval', '--scenes', scenes, '--json']);
  t.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  t.equal(e.images, 11);
  t.match(e.detector, /ultraface-masked-rfb-640\/model\.json$/);
  const L = e.perClassLarge as Record<string, Count>;
  t.same([L.mask.faces, L.no_mask.faces], [55, 37], 'faces at least 40 px tall in the ground truth');
  const found = (L.mask.found + L.no_mask.found) / (L.mask.faces + L.no_mask.faces);
  t.comment(`≥ 40 px: masked found ${L.mask.found}/${L.mask.faces}, right ${L.mask.right}; bare found ${L.no_mask.found}/${L.no_mask.faces}, right ${L.no_mask.right}; false boxes ${e.falseBoxes}`);
  t.ok(found >= 0.95, `≥ 95 % of the faces ≥ 40 px found (${(100 * found).toFixed(1)} %)`);
  // "masked as often as bare": each class ≥ 95 %, and masked at most one face in 55 behind bare
  // (detector 2.1.0 at its manifest threshold, docs/DECISIONS.md D151).
  const maskedRate = L.mask.found / L.mask.faces, bareRate = L.no_mask.found / L.no_mask.faces;
  t.ok(maskedRate >= 0.95, `≥ 95 % of the masked faces ≥ 40 px found (${L.mask.found}/${L.mask.faces})`);
  t.ok(bareRate >= 0.95, `≥ 95 % of the bare faces ≥ 40 px found (${L.no_mask.found}/${L.no_mask.faces})`);
  t.ok(bareRate - maskedRate <= 1 / L.mask.faces + 1e-9, `masked found as often as bare, within one face (${(100 * maskedRate).toFixed(1)} % against ${(100 * bareRate).toFixed(1)} %)`);
  t.ok(L.no_mask.right / L.no_mask.faces >= 0.97, `unmasked recall ≥ 97 % on the faces ≥ 40 px (${L.no_mask.right}/${L.no_mask.faces})`);
  t.ok(e.falseBoxes <= 3, `at most 3 false boxes in 11 photos (${e.falseBoxes})`);
  // The "no masked crowd photo labelled no_mask": with the default faces.frameLabelMinFace (32 px)
  // the masked crowds are labelled mask: img7, img5 (whose two faces read as no_mask are under 32 px) and
  // img2, ten masked portraits (its camouflage neck gaiter read as no_mask by 1.2.0 and 1.3.0; mask-mobilenet
  // 2.0.0 reads it as mask; docs/DECISIONS.md D121, D122, D146). The frame labels were tuned on these same
  // photos (D121); asserted as they are, so that a change shows.
  const got = (file: string) => e.frames.find((x: { file: string }) => x.file === file).got;
  t.equal(got('linzaer-masked-img7.jpg'), 'mask', 'the seated masked crowd is not labelled no_mask');
  t.equal(got('linzaer-masked-img5.jpg'), 'mask', 'the street crowd of small masked faces is not labelled no_mask');
  t.equal(got('linzaer-masked-img2.jpg'), 'mask', 'img2: ten masked portraits, the camouflage gaiter included, labelled mask');
  type Res = { file: string; label: string; faces: { label: string; box: number[] }[] };
  t.same(e.results.map((x: Res) => x.label), e.results.map((x: Res) => frameLabel(x.faces, FRAME_LABEL_MIN_FACE).label), 'each frame label is the faces\' label with the default minimum');
  for (const f of ['aizoo-demo2.jpg', 'coral-face.jpg', 'coral-grace_hopper.jpg', 'linzaer-imgs-13.jpg', 'linzaer-imgs-19.jpg', 'linzaer-imgs-9.jpg', 'linzaer-masked-img3.jpg', 'linzaer-masked-img4.jpg'])
    t.equal(got(f), e.frames.find((x: { file: string }) => x.file === f).expected, `${f}: frame label right`);
  t.ok(e.results.flatMap((x: { faces: { detLabel?: string }[] }) => x.faces).every((f: { detLabel?: string }) => f.detLabel === 'face' || f.detLabel === 'masked_face'), 'each face carries the detector\'s own class');
});

t.test('--detector and --score-threshold reach the pipeline; the text report', async (t) => {
  const r = await run(['eval', '--scenes', scenes, '--detector', join(root, 'models/ultraface-rfb-320/model.json'), '--score-threshold', '0.7']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /detector: .*ultraface-rfb-320\/model\.json/);
  const m = /faces at least 40 px tall\nmask\s+55\s+(\d+) /.exec(r.stdout);
  t.ok(m && Number(m[1]) < 50, `RFB-320 at 0.7 finds fewer masked faces ≥ 40 px (${m?.[1]}/55): the options were used`);
  t.match(r.stdout, /false boxes: \d+/);
  t.match(r.stdout, /frames \(expected → got\):\n {2}[✓✗]/);
});

t.test('--frame-label-min-face reaches the frame label (0: every face makes it, as before D121)', async (t) => {
  const r = await run(['eval', '--scenes', scenes, '--frame-label-min-face', '0', '--json']);
  t.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  type Res = { file: string; label: string; faces: { label: string; box: number[] }[] };
  t.same(e.results.map((x: Res) => x.label), e.results.map((x: Res) => frameLabel(x.faces, 0).label), 'each frame label is made from every face');
  const img5 = e.results.find((x: Res) => x.file === 'linzaer-masked-img5.jpg') as Res;
  t.equal(img5.label, 'no_mask', 'img5 without the minimum: a small face read as no_mask makes the frame no_mask (as it is)');
  t.ok(img5.faces.filter((f) => f.label === 'no_mask').every((f) => f.box[3] < FRAME_LABEL_MIN_FACE), 'and every face read as no_mask there is under the default minimum');
});

t.test('a folder without faces.json is a clear error', async (t) => {
  const r = await run(['eval', '--scenes', t.testdir({})]);
  t.equal(r.code, 1);
  t.match(r.stderr, /faces\.json: .*--scenes needs DIR\/faces\.json/);
});
