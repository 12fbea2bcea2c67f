#!/usr/bin/python3
"""Score a model (model.json + its ONNX file, through OpenCV's dnn) on the val crops of a crops.py file,
with the manifest's decision rule: accuracy, per-class recall, and the same split by variant
(close-up / entrance size), so two models can be compared on the same crops.

    /usr/bin/python3 models/train/eval_crops.py --crops /tmp/crops.npz --model models/mask-mobilenet/model.json \
        [--val-variants 2] [--threshold T | --choose 0.97 [--write-rule REASON]] [--json out.json]

--val-variants N scores only the val crops of variants < N (2 = a close-up and one entrance size per val
image, 1.2.0's val); --threshold overrides the manifest's rule (no_mask when p(no_mask) >= T).
--write-rule REASON (with --choose) writes the chosen threshold into the manifest's `decision`, REASON as
its `chosenFor` (1.3.0: its rule re-chosen for 1.2.0's unmasked recall on these crops, D144).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cv2_onnx import load_cv2_net, p_no_mask  # noqa: E402
from train import confusion, per_class, to_input  # noqa: E402


def crop_logits(model_json, man, x):
    """The model's logits on uint8 crops x (N, S, S, 3), through OpenCV's dnn, 100 at a time."""
    net = load_cv2_net(os.path.join(os.path.dirname(model_json), man["file"]))
    logits = []
    for i in range(0, len(x), 100):
        net.setInput(to_input(x[i:i + 100]).numpy())
        logits.append(net.forward("logits"))
    return np.concatenate(logits)


def scores_at(p, y, v, t):
    """Accuracy, confusion, per-class recall and the close-up / entrance split of p(no_mask) >= t."""
    pred = (p >= t).astype(int)
    cm = confusion(y, pred)
    return {"threshold": t, "accuracy": round(float((pred == y).mean()), 4), "confusion": cm.tolist(), "perClass": per_class(cm),
            "byVariant": {name: {"n": int(s.sum()), "accuracy": round(float((pred[s] == y[s]).mean()), 4)}
                          for name, s in (("close-up", v == 0), ("entrance", v > 0)) if s.any()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--model", required=True, help="model.json (its `file` is the ONNX graph)")
    ap.add_argument("--val-variants", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--choose", type=float, default=None, metavar="RECALL",
                    help="choose the threshold on these crops instead, as train_crops.py does (largest t <= 0.5 with unmasked recall >= RECALL)")
    ap.add_argument("--write-rule", default=None, metavar="REASON",
                    help="with --choose: write the threshold into the manifest's decision, REASON as chosenFor")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.write_rule is not None and a.choose is None:
        ap.error("--write-rule needs --choose")
    with open(a.model) as f:
        man = json.load(f)
    t = a.threshold if a.threshold is not None else (man.get("decision") or {}).get("threshold", 0.5)
    d = np.load(a.crops)
    sel = d["val"] & ((d["variant"] < a.val_variants) if a.val_variants else True)
    x, y, v = d["x"][sel], d["y"][sel], d["variant"][sel]
    p = p_no_mask(crop_logits(a.model, man, x))
    if a.choose is not None:
        from train_crops import choose_threshold
        t = choose_threshold(p, y, a.choose)
    out = {"model": f"{man['name']} {man['version']}", "crops": a.crops, "valCrops": int(len(y)), **scores_at(p, y, v, t)}
    print(json.dumps(out, indent=1))
    if a.write_rule is not None:
        man["decision"] = {**(man.get("decision") or {"label": "no_mask"}), "threshold": t, "chosenFor": a.write_rule}
        with open(a.model, "w") as f:
            f.write(json.dumps(man, indent=2) + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
