#!/usr/bin/python3
"""Reproducible training recipe for the default mask / no_mask classifier (mask-mobilenet).

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12, opencv 4.6 import only there):

    /usr/bin/python3 models/train/train.py --data /work/shared/datasets/face-mask --out models/mask-mobilenet

What it does (see models/train/README.md for the reasons):
  * MobileNet V1 (Howard et al. 2017) written out: a 3x3 stride-2 conv, then 13 depthwise-separable
    blocks (depthwise 3x3 + pointwise 1x1, each followed by BatchNorm and ReLU6), width multiplier
    alpha, global average pooling, dropout and a linear head with 2 outputs. Trained from scratch.
  * Preprocessing identical to the runtime: RGB, letterboxed to SxS (scale to fit keeping aspect,
    centred, black padding), x = pixel / 127.5 - 1, NCHW float32.
  * Training-only augmentation (seeded): colour / brightness / contrast / saturation / hue jitter,
    occasional grey, blur or low-resolution simulation, JPEG compression artefacts, then scale / aspect / rotation / shift
    jitter and horizontal flip applied while letterboxing (padding stays exactly black).
  * AdamW + one-cycle (cosine) LR, label smoothing, weight decay (not on BN / bias), weight EMA.
    The epoch whose EMA weights have the best val accuracy (ties: lower val loss) is kept.
  * Exports ONNX opset 13 with input "input" [batch,3,S,S] and outputs "logits" [batch,2] and
    "features" [batch,C] (the pooled features feeding the head), checks it with onnx.checker,
    compares it with torch, evaluates it on the whole val split through OpenCV's ONNX importer, and
    writes model.onnx, model.json (manifest mobilenet-edge/model@1) and metrics.json.

Only the train split is used for fitting; the val split is used for model selection and reporting.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import random
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import LABELS, augment, letterbox, list_split, load_rgb, to_input  # noqa: E402,F401
from net import ExportWrapper, MobileNetV1, count_params_macs  # noqa: E402,F401


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


class EMA:
    """Exponential moving average of weights (BN buffers copied as well)."""

    def __init__(self, model, decay):
        import copy
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step):
        d = min(self.decay, (1 + step) / (10 + step))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


CL = torch.channels_last  # NHWC memory format: about 2x faster depthwise convs on CPU (layout only)


@torch.no_grad()
def evaluate(model, x_u8, y, bs=200):
    model.eval()
    logits = []
    for i in range(0, len(x_u8), bs):
        logits.append(model(to_input(x_u8[i:i + bs]).contiguous(memory_format=CL)))
    logits = torch.cat(logits)
    loss = F.cross_entropy(logits, y).item()
    pred = logits.argmax(1)
    return (pred == y).float().mean().item(), loss, pred, logits


def confusion(y, pred, n=2):
    cm = np.zeros((n, n), int)
    for t, p in zip(np.asarray(y), np.asarray(pred)):
        cm[t, p] += 1
    return cm


def per_class(cm):
    out = {}
    for i, lab in enumerate(LABELS):
        tp = cm[i, i]
        prec = tp / max(1, cm[:, i].sum())
        rec = tp / max(1, cm[i, :].sum())
        out[lab] = {"precision": round(float(prec), 4), "recall": round(float(rec), 4),
                    "f1": round(float(2 * prec * rec / max(1e-12, prec + rec)), 4), "support": int(cm[i, :].sum())}
    return out


# --------------------------------------------------------------------------------------------
# ONNX checks
# --------------------------------------------------------------------------------------------

def run_ort_node(onnx_path, x):
    """Run the file through onnxruntime-node (node + the repo's node_modules) via ort_check.cjs."""
    import subprocess
    import tempfile
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "input.json"), "w") as f:
            json.dump({"shape": list(x.shape)}, f)
        x.astype("<f4").tofile(os.path.join(d, "input.f32"))
        r = subprocess.run(["node", os.path.join(here, "ort_check.cjs"), os.path.abspath(onnx_path), d],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(r.stderr or r.stdout or f"node exited {r.returncode}")
        with open(os.path.join(d, "result.json")) as f:
            info = json.load(f)
        lo = np.fromfile(os.path.join(d, "logits.f32"), "<f4").reshape(x.shape[0], -1)
        fe = np.fromfile(os.path.join(d, "features.f32"), "<f4").reshape(x.shape[0], -1)
    return lo, fe, info


def run_cv2_dnn(onnx_path, x):
    """The exported file through OpenCV's dnn (cv2_onnx.load_cv2_net rewrites Clip for OpenCV 4.6)."""
    from cv2_onnx import load_cv2_net
    net = load_cv2_net(onnx_path)
    los, fes = [], []
    for i in range(len(x)):
        net.setInput(x[i:i + 1])
        lo, fe = net.forward(["logits", "features"])
        los.append(lo.reshape(-1)); fes.append(fe.reshape(-1))
    return np.stack(los), np.stack(fes), {"opencv": cv2.__version__}


def write_metadata(om, labels, name):
    """Labels and preprocessing into the ONNX metadata_props (keys of models/onnx-metadata.ts), so that
    `edgectl push model.onnx` can describe the model when no model.json travels with it."""
    props = {
        "mobilenet_edge.labels": json.dumps(list(labels)),
        "mobilenet_edge.preprocess": json.dumps({"scale": 1 / 127.5, "mean": [1, 1, 1], "std": [1, 1, 1]}),
        "mobilenet_edge.output_kind": "logits",
        "mobilenet_edge.color_order": "RGB",
        "mobilenet_edge.resize": "letterbox",
        "mobilenet_edge.name": name,
    }
    kept = [(p.key, p.value) for p in om.metadata_props if p.key not in props]
    del om.metadata_props[:]
    for k, v in kept + list(props.items()):
        e = om.metadata_props.add()
        e.key, e.value = k, v
    return om


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="dataset root with train/{mask,no_mask} and val/{mask,no_mask}")
    ap.add_argument("--out", required=True, help="output model folder (model.onnx, model.json)")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate (one-cycle)")
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--smoothing", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--subset", type=int, default=0, help="smoke test: use only N train and N val images")
    ap.add_argument("--metrics", default=None, help="metrics.json path (default: models/train/metrics.json next to this script)")
    ap.add_argument("--name", default="mask-mobilenet")
    ap.add_argument("--version", default="1.1.0")
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    seed_everything(args.seed)
    S = args.size
    os.makedirs(args.out, exist_ok=True)
    metrics_path = args.metrics or os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics.json")

    # ---- data: decode once, keep in memory -------------------------------------------------
    train_items, val_items = list_split(args.data, "train"), list_split(args.data, "val")
    if args.subset:
        r = random.Random(args.seed)
        train_items = sorted(r.sample(train_items, min(args.subset, len(train_items))))
        val_items = sorted(r.sample(val_items, min(args.subset, len(val_items))))
    train_imgs = [load_rgb(p) for p, _ in train_items]             # originals (<=224 px), for augmentation
    train_y = torch.tensor([y for _, y in train_items])
    val_u8 = torch.from_numpy(np.stack([letterbox(load_rgb(p), S) for p, _ in val_items]))  # cached, NHWC uint8
    val_y = torch.tensor([y for _, y in val_items])
    print(f"train {len(train_items)} ({np.bincount(train_y.numpy(), minlength=2).tolist()}), "
          f"val {len(val_items)} ({np.bincount(val_y.numpy(), minlength=2).tolist()}), "
          f"loaded in {time.time() - t_start:.1f}s", flush=True)

    # ---- model / optimiser ------------------------------------------------------------------
    model = MobileNetV1(args.alpha, len(LABELS), args.dropout)
    params, macs = count_params_macs(model, S)
    model = model.to(memory_format=CL)
    print(f"MobileNetV1 alpha={args.alpha} size={S}: {params} params, {macs / 1e6:.1f} M MACs, "
          f"features C={model.num_features}", flush=True)
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(len(train_imgs) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
        pct_start=0.15, anneal_strategy="cos", div_factor=20, final_div_factor=200)
    ema = EMA(model, args.ema)
    crit = nn.CrossEntropyLoss(label_smoothing=args.smoothing)

    history, best = [], None
    best_state = None
    step = 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        rng = np.random.default_rng([args.seed, epoch])                # data order + augmentation
        order = rng.permutation(len(train_imgs))
        tot_loss, tot_ok, n_seen = 0.0, 0, 0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            if len(idx) < 2:
                continue
            xb = to_input(np.stack([augment(train_imgs[i], S, rng) for i in idx])).contiguous(memory_format=CL)
            yb = train_y[idx]
            logits = model(xb)
            loss = crit(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            ema.update(model, step)
            tot_loss += loss.item() * len(idx)
            tot_ok += (logits.argmax(1) == yb).sum().item()
            n_seen += len(idx)
        t_train = time.time() - t0
        acc_raw, loss_raw, _, _ = evaluate(model, val_u8, val_y)
        acc, vloss, _, _ = evaluate(ema.model, val_u8, val_y)
        rec = {"epoch": epoch, "lr": round(opt.param_groups[0]["lr"], 7),
               "trainLoss": round(tot_loss / n_seen, 5), "trainAccuracy": round(tot_ok / n_seen, 5),
               "valAccuracy": round(acc, 5), "valLoss": round(vloss, 5),
               "valAccuracyRaw": round(acc_raw, 5), "valLossRaw": round(loss_raw, 5),
               "seconds": round(time.time() - t0, 1)}
        history.append(rec)
        is_best = best is None or (acc, -vloss) > (best["valAccuracy"], -best["valLoss"])
        if is_best:
            best = rec
            best_state = {k: v.clone() for k, v in ema.model.state_dict().items()}
        print(f"epoch {epoch:3d}/{args.epochs} lr {rec['lr']:.2e} train loss {rec['trainLoss']:.4f} "
              f"acc {rec['trainAccuracy']:.4f} | val acc {acc:.4f} loss {vloss:.4f} "
              f"(raw {acc_raw:.4f}) | {t_train:.1f}s+{rec['seconds'] - t_train:.1f}s"
              f"{'  *best' if is_best else ''}", flush=True)

    # ---- best epoch: final evaluation -------------------------------------------------------
    final = MobileNetV1(args.alpha, len(LABELS), args.dropout)
    final.load_state_dict(best_state)
    final.eval()  # contiguous (NCHW) weights: this is the model that is exported
    acc, vloss, pred, logits = evaluate(final, val_u8, val_y)
    cm = confusion(val_y.numpy(), pred.numpy())
    print(f"best epoch {best['epoch']}: val acc {acc:.4f} ({int(np.trace(cm))}/{len(val_y)}), loss {vloss:.4f}")
    print(f"confusion (rows true {LABELS}, cols predicted):\n{cm}")

    # ---- ONNX export --------------------------------------------------------------------------
    import onnx
    onnx_path = os.path.join(args.out, "model.onnx")
    wrapper = ExportWrapper(final).eval()
    dummy = to_input(val_u8[:2])
    torch.onnx.export(wrapper, dummy, onnx_path, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits", "features"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}})
    om = onnx.load(onnx_path)
    onnx.checker.check_model(om)
    dims = lambda vi: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
    io = {"inputs": {i.name: dims(i) for i in om.graph.input},
          "outputs": {o.name: dims(o) for o in om.graph.output}}
    print(f"onnx.checker OK, opset {om.opset_import[0].version}, io {io}")
    assert list(io["inputs"]) == ["input"] and list(io["outputs"]) == ["logits", "features"], io
    write_metadata(om, LABELS, args.name)  # before the hash: the manifest's sha256 covers it
    onnx.save(om, onnx_path)

    # torch vs ONNX on every val image: onnxruntime-node (the runtime's engine) and OpenCV's importer
    with torch.no_grad():
        t_logits, t_feats = wrapper(to_input(val_u8))
    t_logits, t_feats = t_logits.numpy(), t_feats.numpy()
    checks = {}
    for engine, fn in (("onnxruntime-node", run_ort_node), ("opencv-dnn", run_cv2_dnn)):
        try:
            lo, fe, info = fn(onnx_path, to_input(val_u8).numpy())
        except Exception as e:  # an engine that is not installed is reported, not fatal
            print(f"ONNX check with {engine}: skipped ({str(e).strip().splitlines()[-1][:200]})")
            checks[engine] = {"skipped": str(e).strip().splitlines()[-1][:200]}
            continue
        o_pred = lo.argmax(1)
        c = {"maxAbsDiffLogits": float(np.abs(lo - t_logits).max()),
             "maxAbsDiffFeatures": float(np.abs(fe - t_feats).max()),
             "argmaxAgreement": int((o_pred == pred.numpy()).sum()),
             "valAccuracy": round(float((o_pred == val_y.numpy()).mean()), 5), **info}
        checks[engine] = c
        print(f"ONNX vs torch ({engine}) on {len(val_u8)} val images: max |dlogits| {c['maxAbsDiffLogits']:.2e}, "
              f"max |dfeatures| {c['maxAbsDiffFeatures']:.2e}, argmax agreement {c['argmaxAgreement']}/{len(val_u8)}, "
              f"val acc {c['valAccuracy']:.4f} {info}")
        assert c["maxAbsDiffLogits"] < 1e-3 and c["argmaxAgreement"] == len(val_u8), f"{engine} disagrees with torch"
    assert any("skipped" not in c for c in checks.values()), "no ONNX engine could check the export"

    # ---- manifest + metrics -------------------------------------------------------------------
    with open(onnx_path, "rb") as f:
        blob = f.read()
    sha = hashlib.sha256(blob).hexdigest()
    wall = time.time() - t_start
    training = {
        "recipe": "models/train/train.py", "arch": "mobilenet_v1", "alpha": args.alpha, "size": S,
        "epochs": args.epochs, "bestEpoch": best["epoch"], "seed": args.seed,
        "valAccuracy": round(acc, 4), "params": params, "macs": macs,
        "torch": torch.__version__, "date": datetime.date.today().isoformat(),
        "data": "face-mask train split (chandrikadeb7/Face-Mask-Detection, MIT); val split for selection",
        "command": " ".join(["/usr/bin/python3", "models/train/train.py"] + sys.argv[1:]),
    }
    manifest = {
        "format": "mobilenet-edge/model@1", "name": args.name, "version": args.version, "task": "classify",
        "file": "model.onnx", "sha256": sha,
        "input": {"name": "input", "layout": "NCHW", "width": S, "height": S, "colorOrder": "RGB",
                  "resize": "letterbox", "padColor": [0, 0, 0]},
        "preprocess": {"scale": 1 / 127.5, "mean": [1, 1, 1], "std": [1, 1, 1]},
        "output": {"name": "logits", "kind": "logits"},
        "labels": LABELS,
        "features": "features",
        "training": training,
    }
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    metrics = {
        "command": training["command"],
        "args": vars(args),
        "arch": "mobilenet_v1", "alpha": args.alpha, "size": S, "featuresC": model.num_features,
        "params": params, "macs": macs, "modelBytes": len(blob), "sha256": sha,
        "trainImages": len(train_items), "valImages": len(val_items),
        "bestEpoch": best["epoch"], "valAccuracy": round(acc, 5), "valLoss": round(vloss, 5),
        "confusion": {"labels": LABELS, "rows": "true", "cols": "predicted", "matrix": cm.tolist()},
        "perClass": per_class(cm),
        "onnxCheck": {"checker": "ok", "opset": 13, "io": io, "engines": checks},
        "wallSeconds": round(wall, 1),
        "torch": torch.__version__, "threads": args.threads, "date": training["date"],
        "history": history,
    }
    with open(metrics_path, "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({len(blob)} bytes, sha256 {sha}), {args.out}/model.json, {metrics_path}")
    print(f"total wall time {wall / 60:.1f} min")


if __name__ == "__main__":
    main()
