#!/usr/bin/python3
"""Score models in classify mode the way the daemon sees the demo clip, on every val image instead of 40:
each val image of a crops.py file letterboxed onto a 640x480 frame and shown for 10 frames, encoded by the
demo clip's own encoder (models/demo/make-clip.py: H.264 baseline, CRF 23, a keyframe per image), decoded
by ffmpeg with the daemon's classify-mode filter (pipelines/sources/ffmpeg-args.ts `videoFilter`), and
classified frame by frame with each model's manifest rule (OpenCV's dnn: the same logits as onnxruntime
to ~1e-6).

    /usr/bin/python3 models/train/eval_clip.py --crops /tmp/crops640.npz --data /work/shared/datasets/face-mask \
        --model models/mask-mobilenet/model.json --model /tmp/m140/model.json [--clip /tmp/val-clip.mp4] [--json out.json]

Needs ffmpeg and Debian's python3-opencv / onnx / torch under /usr/bin/python3.
The clip (5,970 frames for 597 images) is made once and reused when --clip exists. Run on demo.mp4 itself
(--demo), it gives the daemon test's labels frame for frame (D142).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, here)
from cv2_onnx import load_cv2_net, p_no_mask  # noqa: E402
from train import to_input  # noqa: E402

spec = importlib.util.spec_from_file_location("make_clip", os.path.join(root, "models", "demo", "make-clip.py"))
make_clip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_clip)


# The daemon's classify-mode decoder filter (pipelines/sources/ffmpeg-args.ts `videoFilter`, rgb24), copied
# here because models/ imports nothing from pipelines/; test/unit/sources.test.ts checks the two agree.
DAEMON_FILTER = "fps={fps},scale={s}:{s}:force_original_aspect_ratio=decrease:flags=bilinear,pad={s}:{s}:(ow-iw)/2:(oh-ih)/2:color=black,format=rgb24"


def daemon_filter(size):
    return DAEMON_FILTER.format(fps=make_clip.FPS, s=size)


def make_val_clip(data, files, out_mp4):
    with tempfile.TemporaryDirectory(prefix="val-clip-") as tmp:
        for i, f in enumerate(files):
            img = cv2.imread(os.path.join(data, f), cv2.IMREAD_COLOR)
            if img is None:
                sys.exit(f"cannot read {os.path.join(data, f)}")
            still = os.path.join(tmp, f"img{i:05d}.png")
            cv2.imwrite(still, make_clip.letterbox(img))
            for j in range(make_clip.FRAMES_PER_IMAGE):
                os.symlink(still, os.path.join(tmp, f"f{i * make_clip.FRAMES_PER_IMAGE + j:06d}.png"))
        subprocess.run(make_clip.encode_cmd(os.path.join(tmp, "f%06d.png"), out_mp4), check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", help="crops.py file: its val images (val flag) are the clip's images")
    ap.add_argument("--data", help="the dataset root the crops file's `files` are relative to")
    ap.add_argument("--demo", action="store_true", help="score models/demo/demo.mp4 (its demo.json) instead")
    ap.add_argument("--clip", default="/tmp/val-clip.mp4", help="where the val clip is made (reused when it exists)")
    ap.add_argument("--model", action="append", required=True, help="model.json (repeat to compare)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    n_per = make_clip.FRAMES_PER_IMAGE
    if a.demo:
        with open(os.path.join(root, "models", "demo", "demo.json")) as f:
            images = [(im["file"], im["label"]) for im in json.load(f)["images"]]
        mp4 = os.path.join(root, "models", "demo", "demo.mp4")
    else:
        if not (a.crops and a.data):
            ap.error("--crops and --data (or --demo)")
        d = np.load(a.crops)
        first = {}
        for i in np.nonzero(d["val"])[0]:
            first.setdefault(int(d["src"][i]), int(d["y"][i]))
        images = [(str(d["files"][s]), ("mask", "no_mask")[y]) for s, y in sorted(first.items())]
        mp4 = a.clip
        if not os.path.exists(mp4):
            make_val_clip(a.data, [f for f, _ in images], mp4)
    out = {"clip": mp4, "images": len(images), "models": {}}
    for mpath in a.model:
        with open(mpath) as f:
            man = json.load(f)
        size = man["input"]["width"]
        vf = daemon_filter(size)
        raw = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", mp4, "-an", "-vf", vf,
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], check=True, capture_output=True).stdout
        x = np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)
        if len(x) != n_per * len(images):
            sys.exit(f"{mp4}: decoded {len(x)} frames, expected {n_per * len(images)}")
        y = np.repeat(np.array([0 if lab == "mask" else 1 for _, lab in images]), n_per)
        net = load_cv2_net(os.path.join(os.path.dirname(mpath), man["file"]))
        ps = []
        for i in range(0, len(x), 200):
            net.setInput(to_input(np.array(x[i:i + 200])).numpy())
            ps.append(p_no_mask(net.forward("logits")))
        p = np.concatenate(ps)
        t = (man.get("decision") or {}).get("threshold", 0.5)
        ok = (p >= t).astype(int) == y
        wrong = [{"file": images[i][0], "framesWrong": int((~ok[i * n_per:(i + 1) * n_per]).sum()),
                  "pNoMask": round(float(p[i * n_per:(i + 1) * n_per].mean()), 3)}
                 for i in range(len(images)) if not ok[i * n_per:(i + 1) * n_per].all()]
        r = {"threshold": t, "filter": vf, "frames": int(len(y)), "accuracy": round(float(ok.mean()), 4),
             "recall": {"mask": round(float(ok[y == 0].mean()), 4), "no_mask": round(float(ok[y == 1].mean()), 4)},
             "wrong": wrong}
        out["models"][f"{man['name']} {man['version']} ({mpath})"] = r
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
