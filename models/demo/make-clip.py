#!/usr/bin/python3
"""Build the demo clip: 40 face-mask val images, 1 s each, 10 fps, H.264 baseline, 640x480.

    /usr/bin/python3 models/demo/make-clip.py --data /work/shared/datasets/face-mask --out models/demo

Writes <out>/demo.mp4 and <out>/demo.json (the ground truth: which image, and label, is on screen
for frames [10*i, 10*i+10)). Run with Debian's Python (needs python3-opencv and numpy) and the
system ffmpeg/ffprobe.

Selection: 20 `mask` and 20 `no_mask` images drawn from the val split with random.Random(SEED);
no model is consulted. Order: alternating runs of 2-4 images of the same label (also drawn with the
seed), so the label changes many times. Each image is letterboxed onto a black 640x480 canvas
(scaled to fit, centred, upscaled if smaller) and shown as 10 identical frames; every image starts
on a keyframe (-g 10, no scene-cut keyframes, no B-frames).

The script checks its own output and exits non-zero if any check fails: ffprobe -count_frames gives
exactly 400 frames at 10 fps, keyframes are exactly at 0, 10, 20, ..., and decoding the clip puts
every frame nearest to the image it should show.
"""
import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np

SEED = 20240611
PER_LABEL = 20
LABELS = ('mask', 'no_mask')
RUN_MIN, RUN_MAX = 2, 4
RUNS_PER_LABEL = 7  # 7 runs of 2-4 images per label -> 14 runs, 13 label changes
WIDTH, HEIGHT = 640, 480
FPS = 10
FRAMES_PER_IMAGE = 10
CRF = 23


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def run_lengths(rng: random.Random, total: int, runs: int) -> list:
    """`runs` lengths in [RUN_MIN, RUN_MAX] adding up to `total`, drawn with rng."""
    if not runs * RUN_MIN <= total <= runs * RUN_MAX:
        raise ValueError(f'cannot split {total} into {runs} runs of {RUN_MIN}-{RUN_MAX}')
    lengths = [RUN_MIN] * runs
    for _ in range(total - runs * RUN_MIN):
        i = rng.choice([k for k in range(runs) if lengths[k] < RUN_MAX])
        lengths[i] += 1
    return lengths


def letterbox(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    scale = min(WIDTH / w, HEIGHT / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    resized = cv2.resize(img, (nw, nh), interpolation=interp)
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    x, y = (WIDTH - nw) // 2, (HEIGHT - nh) // 2
    canvas[y:y + nh, x:x + nw] = resized
    return canvas


def encode_cmd(frames_pattern: str, out_mp4: str) -> list:
    """The clip's encoder: numbered PNG frames -> H.264 baseline, a keyframe per image (also used by
    models/train/eval_clip.py to put every val image through the same encoding)."""
    return [
        'ffmpeg', '-hide_banner', '-loglevel', 'error', '-y',
        '-framerate', str(FPS), '-i', frames_pattern,
        '-vf', 'format=yuv420p', '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'medium',
        '-crf', str(CRF), '-g', str(FRAMES_PER_IMAGE), '-bf', '0',
        '-x264-params', f'keyint={FRAMES_PER_IMAGE}:min-keyint={FRAMES_PER_IMAGE}:scenecut=0:threads=1',
        '-r', str(FPS), '-an', '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact',
        out_mp4,
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True, help='face-mask dataset folder (has manifest.csv, val/)')
    ap.add_argument('--out', required=True, help='output folder for demo.mp4 and demo.json')
    args = ap.parse_args()

    with open(os.path.join(args.data, 'manifest.csv'), newline='') as f:
        rows = [r for r in csv.DictReader(f) if r['file'].startswith('val/')]
    by_label = {label: sorted((r for r in rows if r['label'] == label), key=lambda r: r['file'])
                for label in LABELS}

    rng = random.Random(SEED)
    picked = {label: rng.sample(by_label[label], PER_LABEL) for label in LABELS}
    lengths = {label: run_lengths(rng, PER_LABEL, RUNS_PER_LABEL) for label in LABELS}
    order = []
    for k in range(RUNS_PER_LABEL):
        for label in LABELS:
            n = lengths[label][k]
            order.extend(picked[label][:n])
            picked[label] = picked[label][n:]
    assert len(order) == 2 * PER_LABEL and all(not v for v in picked.values())

    images = []
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='demo-clip-')
    try:
        boxed = []
        for i, row in enumerate(order):
            path = os.path.join(args.data, row['file'])
            digest = sha256_file(path)
            if digest != row['sha256']:
                raise SystemExit(f'{row["file"]}: sha256 {digest} does not match manifest.csv')
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise SystemExit(f'cannot read {path}')
            canvas = letterbox(img)
            boxed.append(canvas)
            still = os.path.join(tmp, f'img{i:04d}.png')
            cv2.imwrite(still, canvas)
            # Each image as FRAMES_PER_IMAGE numbered frames: frame n shows image n // 10, exactly.
            for j in range(FRAMES_PER_IMAGE):
                os.symlink(still, os.path.join(tmp, f'f{i * FRAMES_PER_IMAGE + j:04d}.png'))
            images.append({'index': i, 'file': row['file'], 'label': row['label'], 'sha256': digest})

        out_mp4 = os.path.join(args.out, 'demo.mp4')
        cmd = encode_cmd(os.path.join(tmp, 'f%04d.png'), out_mp4)
        print(' '.join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)

        n_frames = len(images) * FRAMES_PER_IMAGE
        problems = check(out_mp4, boxed, n_frames)
        if problems:
            for p in problems:
                print(f'CHECK FAILED: {p}', file=sys.stderr)
            return 1

        meta = {
            'fps': FPS,
            'framesPerImage': FRAMES_PER_IMAGE,
            'width': WIDTH,
            'height': HEIGHT,
            'frames': n_frames,
            'images': images,
            'video': {'file': 'demo.mp4', 'sha256': sha256_file(out_mp4), 'bytes': os.path.getsize(out_mp4)},
            'source': {'dataset': 'face-mask (from chandrikadeb7/Face-Mask-Detection, MIT)', 'split': 'val',
                       'seed': SEED},
        }
        with open(os.path.join(args.out, 'demo.json'), 'w') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
        changes = sum(1 for a, b in zip(images, images[1:]) if a['label'] != b['label'])
        print(f'{out_mp4}: {n_frames} frames, {os.path.getsize(out_mp4)} bytes, '
              f'{changes} label changes, order {"".join("M" if im["label"] == "mask" else "n" for im in images)}',
              file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check(mp4: str, boxed: list, n_frames: int) -> list:
    problems = []
    probe = json.loads(subprocess.run(
        ['ffprobe', '-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries',
         'stream=codec_name,profile,pix_fmt,width,height,avg_frame_rate,nb_read_frames,has_b_frames',
         '-of', 'json', mp4], check=True, capture_output=True, text=True).stdout)['streams'][0]
    expect = {'codec_name': 'h264', 'profile': 'Constrained Baseline', 'pix_fmt': 'yuv420p', 'width': WIDTH,
              'height': HEIGHT, 'avg_frame_rate': f'{FPS}/1', 'nb_read_frames': str(n_frames), 'has_b_frames': 0}
    for k, v in expect.items():
        if probe.get(k) != v:
            problems.append(f'ffprobe {k} = {probe.get(k)!r}, expected {v!r}')

    frames = json.loads(subprocess.run(
        ['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pict_type',
         '-of', 'json', mp4], check=True, capture_output=True, text=True).stdout)['frames']
    keys = [i for i, fr in enumerate(frames) if fr['key_frame'] == 1]
    if keys != list(range(0, n_frames, FRAMES_PER_IMAGE)):
        problems.append(f'keyframes at {keys}')
    if any(fr['pict_type'] == 'B' for fr in frames):
        problems.append('B-frames present')

    # Decode and match every frame to the nearest letterboxed image (at 160x120 for speed).
    small = lambda im: cv2.resize(im, (160, 120), interpolation=cv2.INTER_AREA).astype(np.int16)
    refs = np.stack([small(cv2.cvtColor(b, cv2.COLOR_BGR2RGB)) for b in boxed])
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', mp4, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
                         check=True, capture_output=True).stdout
    size = WIDTH * HEIGHT * 3
    if len(raw) != n_frames * size:
        problems.append(f'decoded {len(raw) / size} frames, expected {n_frames}')
        return problems
    worst = 0.0
    for n in range(n_frames):
        fr = small(np.frombuffer(raw, np.uint8, size, n * size).reshape(HEIGHT, WIDTH, 3))
        err = np.abs(refs - fr).mean(axis=(1, 2, 3))
        best = int(err.argmin())
        worst = max(worst, float(err[n // FRAMES_PER_IMAGE]))
        if best != n // FRAMES_PER_IMAGE:
            problems.append(f'frame {n} looks like image {best}, expected {n // FRAMES_PER_IMAGE}')
    print(f'check: every frame matches its image (worst mean abs error {worst:.2f} / 255)', file=sys.stderr)
    return problems


if __name__ == '__main__':
    sys.exit(main())
