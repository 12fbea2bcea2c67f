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
        --detector ultraface-masked-rfb-640 --choose 0.9778 [--write-rule REASON] [--json out.json]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cv2_onnx import load_cv2_net  # noqa: E402
from selection import choose_threshold  # noqa: E402
from train import confusion, per_class, to_input  # noqa: E402

WEIGHTS = [round(0.1 * i, 1) for i in range(0, 31)]


def fused_p(logit_cls, det_logit, w):
    """p(no_mask) fused: the classifier's log-odds plus w times the detector's (0 where it has none)."""
    return 1 / (1 + np.exp(-(logit_cls + w * det_logit)))


def det_log_odds(det_scores):
    """ln(p(face) / p(masked_face)) of each crop's box; 0 (no opinion) where the detector missed."""
    face, masked = det_scores[:, 1].astype(np.float64), det_scores[:, 2].astype(np.float64)
    out = np.log(np.maximum(face, 1e-6) / np.maximum(masked, 1e-6))
    return np.where(np.isnan(out), 0.0, out)


def best_weight(logit_cls, det, y, recall):
    """(w, t, accuracy) with the best accuracy at its own rule; ties go to the smaller w."""
    best = None
    for w in WEIGHTS:
        p = fused_p(logit_cls, det, w)
        t = choose_threshold(p, y, recall)
        acc = float(((p >= t).astype(int) == y).mean())
        if best is None or acc > best[2] + 1e-12:
            best = (w, t, acc)
    return best


def report(p, y, v, t):
    pred = (p >= t).astype(int)
    cm = confusion(y, pred)
    return {"threshold": t, "accuracy": round(float((pred == y).mean()), 4), "confusion": cm.tolist(), "perClass": per_class(cm),
            "byVariant": {name: {"n": int(s.sum()), "accuracy": round(float((pred[s] == y[s]).mean()), 4)}
                          for name, s in (("close-up", v == 0), ("entrance", v > 0)) if s.any()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--model", required=True, help="model.json (its `file` is the ONNX graph)")
    ap.add_argument("--detector", required=True, help="the detector's manifest name the rule is for (the crops' detector)")
    ap.add_argument("--choose", type=float, required=True, metavar="RECALL", help="unmasked recall floor for t (as eval_crops.py --choose)")
    ap.add_argument("--write-rule", default=None, metavar="REASON", help="write {threshold, fuse} into the manifest's decision")
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
    net = load_cv2_net(os.path.join(os.path.dirname(a.model), man["file"]))
    logits = []
    for i in range(0, len(x), 100):
        net.setInput(to_input(x[i:i + 100]).numpy())
        logits.append(net.forward("logits"))
    lg = np.concatenate(logits).astype(np.float64)
    lc = lg[:, 1] - lg[:, 0]
    alone = fused_p(lc, det, 0.0)
    t0 = choose_threshold(alone, y, a.choose)
    w, t, _ = best_weight(lc, det, y, a.choose)
    # two-fold check by near-duplicate group: choose on one half, score on the other
    halves = (np.unique(g) % 2)[np.searchsorted(np.unique(g), g)]
    folds = []
    for k in (0, 1):
        tr, te = halves == k, halves != k
        wk, tk, _ = best_weight(lc[tr], det[tr], y[tr], a.choose)
        t0k = choose_threshold(alone[tr], y[tr], a.choose)
        folds.append({"chosenOn": int(tr.sum()), "scoredOn": int(te.sum()), "w": wk, "t": tk,
                      "fused": report(fused_p(lc[te], det[te], wk), y[te], v[te], tk),
                      "classifierAlone": report(alone[te], y[te], v[te], t0k)})
    out = {"model": f"{man['name']} {man['version']}", "detector": a.detector, "crops": a.crops, "valCrops": int(len(y)),
           "withDetectorOpinion": int((det != 0).sum()), "w": w,
           "fused": report(fused_p(lc, det, w), y, v, t), "classifierAlone": report(alone, y, v, t0),
           "sweep": [{"w": ww, "t": (tt := choose_threshold(fused_p(lc, det, ww), y, a.choose)),
                      "accuracy": round(float(((fused_p(lc, det, ww) >= tt).astype(int) == y).mean()), 4)} for ww in WEIGHTS],
           "twoFold": folds}
    print(json.dumps({k: out[k] for k in out if k != "sweep"}, indent=1))
    print("w sweep:", " ".join(f"{s['w']}:{s['accuracy']}@{s['t']}" for s in out["sweep"]))
    if a.write_rule is not None:
        man["decision"] = {**(man.get("decision") or {"label": "no_mask"}), "threshold": t,
                           "fuse": {"detector": a.detector, "weight": w}, "chosenFor": a.write_rule}
        with open(a.model, "w") as f:
            f.write(json.dumps(man, indent=2) + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
