#!/usr/bin/python3
"""Fuse the detector's face class into the classifier's decision (issue 15, D145), measured on the val
crops of a crops.py file that carries the detector's class scores (`detScores`: background, face,
masked_face of the box each crop was made from; NaN where the detector missed and the placed rectangle
was used).

The fused opinion is a sum of log-odds: z = logit p(no_mask) + w * ln(p(face) / p(masked_face)), and
p_fused = sigmoid(z); the label is no_mask when p_fused >= t. A crop without a detector opinion keeps
the classifier's own p. w is chosen on the val crops (the grid below, best accuracy at its own t), and
t as train_crops.py chooses it: the largest t <= 0.5 with unmasked recall >= --choose. Because w and t
are both chosen on val, the script also reports a two-fold check split by near-duplicate group: w and t
chosen on one half and scored on the other.

    /usr/bin/python3 models/train/fuse.py --crops /tmp/crops160.npz --model models/mask-mobilenet/model.json \
        --detector ultraface-masked-rfb-640 --choose 0.9778 [--json out.json]

A measure only: the manifest's decision rule has no fused form (D145: not shipped).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_crops import crop_logits, scores_at  # noqa: E402
from selection import choose_threshold  # noqa: E402

WEIGHTS = [round(0.1 * i, 1) for i in range(0, 31)]


def fused_p(logit_cls, det_logit, w):
    """p(no_mask) fused: the classifier's log-odds plus w times the detector's (0 where it has none)."""
    return 1 / (1 + np.exp(-(logit_cls + w * det_logit)))


def det_log_odds(det_scores):
    """ln(p(face) / p(masked_face)) of each crop's box; 0 (no opinion) where the detector missed."""
    face, masked = det_scores[:, 1].astype(np.float64), det_scores[:, 2].astype(np.float64)
    out = np.log(np.maximum(face, 1e-6) / np.maximum(masked, 1e-6))
    return np.where(np.isnan(out), 0.0, out)


def sweep(logit_cls, det, y, recall):
    """Per w of WEIGHTS: its own t (the recall floor) and the accuracy there."""
    rows = []
    for w in WEIGHTS:
        p = fused_p(logit_cls, det, w)
        t = choose_threshold(p, y, recall)
        rows.append({"w": w, "t": t, "accuracy": round(float(((p >= t).astype(int) == y).mean()), 4)})
    return rows


def best(rows):
    """The row with the best accuracy; ties go to the smaller w (rows are in increasing w)."""
    return max(rows, key=lambda r: (r["accuracy"], -r["w"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--model", required=True, help="model.json (its `file` is the ONNX graph)")
    ap.add_argument("--detector", required=True, help="the detector's manifest name (the crops' detector), for the record")
    ap.add_argument("--choose", type=float, required=True, metavar="RECALL", help="unmasked recall floor for t (as eval_crops.py --choose)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    with open(a.model) as f:
        man = json.load(f)
    d = np.load(a.crops)
    if "detScores" not in d:
        sys.exit(f"{a.crops}: no detScores (made by a crops.py before D145); make the crops again")
    sel = d["val"]
    x, y, v, g = d["x"][sel], d["y"][sel], d["variant"][sel], d["group"][d["src"][sel]]
    det = det_log_odds(d["detScores"][sel])
    lg = crop_logits(a.model, man, x).astype(np.float64)
    lc = lg[:, 1] - lg[:, 0]
    rows = sweep(lc, det, y, a.choose)
    chosen, alone = best(rows), rows[0]  # WEIGHTS[0] == 0: the classifier alone
    # two-fold check by near-duplicate group: choose on one half, score on the other
    groups = np.unique(g)
    halves = (groups % 2)[np.searchsorted(groups, g)]
    folds = []
    for k in (0, 1):
        tr, te = halves == k, halves != k
        rk = sweep(lc[tr], det[tr], y[tr], a.choose)
        ck = best(rk)
        folds.append({"chosenOn": int(tr.sum()), "scoredOn": int(te.sum()), "w": ck["w"], "t": ck["t"],
                      "fused": scores_at(fused_p(lc[te], det[te], ck["w"]), y[te], v[te], ck["t"]),
                      "classifierAlone": scores_at(fused_p(lc[te], det[te], 0.0), y[te], v[te], rk[0]["t"])})
    out = {"model": f"{man['name']} {man['version']}", "detector": a.detector, "crops": a.crops, "valCrops": int(len(y)),
           "withDetectorOpinion": int((det != 0).sum()), "w": chosen["w"],
           "fused": scores_at(fused_p(lc, det, chosen["w"]), y, v, chosen["t"]),
           "classifierAlone": scores_at(fused_p(lc, det, 0.0), y, v, alone["t"]),
           "sweep": rows, "twoFold": folds}
    print(json.dumps({k: out[k] for k in out if k != "sweep"}, indent=1))
    print("w sweep:", " ".join(f"{r['w']}:{r['accuracy']}@{r['t']}" for r in rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
