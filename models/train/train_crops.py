#!/usr/bin/python3
"""Fine-tune the mask / no_mask classifier on the crops the daemon makes (models/train/crops.py),
pick the operating point for unmasked recall, export model.onnx + model.json.

    nice -n 10 /usr/bin/python3 models/train/train_crops.py --crops /tmp/crops.npz \
        --base models/mask-mobilenet/model.onnx --out models/mask-mobilenet --threads 1

* Starts from the weights of the base model (mask-mobilenet 1.1.0, trained by train.py on the same
  train split; its sha256 is checked by --base-sha256). The ONNX graph has BatchNorm folded into the
  convs: each BatchNorm is restored as the identity plus the folded bias, and its statistics stay
  frozen (eval mode) while the convs, BatchNorm affines and head are trained.
* Each epoch sees one crop of every training image, drawn at random from its variants, mirrored with
  p 0.5; the model, optimiser (AdamW, one-cycle), label smoothing and EMA are train.py's.
* --images DATA adds every training image whole, with train.py's augmentation and letterbox
  (data.augment), as one more variant of its image (--images-weight K: as K variants), so the model
  keeps the whole-image skill of its base (classify mode, where the frame is the face; D120, D130).
  The val images are then also scored whole each epoch (argmax; logged).
* --select crops (default): the epoch with the best EMA accuracy on the val crops is kept (ties: lower
  loss). Operating point: on the val crops, the decision rule "no_mask when p(no_mask) >= t" with the
  largest t (at most 0.5, so never less sensitive than argmax) whose unmasked recall is >= --recall.
* --select crops+images (with --images; D140): epoch and rule chosen on the val crops and the val images
  whole together, as selection.py documents: each epoch at its rule (unmasked recall >= --recall on the
  crops and >= the base's own on the whole images), scored by the mean of the two accuracies there.
  It goes into model.json as `decision`; the precision/recall curve goes into metrics.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import (CL, EMA, LABELS, ExportWrapper, MobileNetV1, augment, confusion, count_params_macs,  # noqa: E402
                   letterbox, load_rgb, per_class, run_cv2_dnn, run_ort_node, seed_everything, to_input, write_metadata)
from selection import better, choose_threshold, choose_threshold_joint, judge_epoch, recall_at  # noqa: E402


def load_base(model, path):
    """Folded ONNX weights -> MobileNetV1 (conv weight + identity BatchNorm carrying the bias)."""
    import onnx
    from onnx import numpy_helper as nh
    m = onnx.load(path)
    init = {t.name: nh.to_array(t) for t in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    gemm = [n for n in m.graph.node if n.op_type == "Gemm"][0]
    mods = list(model.features.modules())
    pairs = [(mods[i], mods[i + 1]) for i in range(len(mods) - 1)
             if isinstance(mods[i], nn.Conv2d) and isinstance(mods[i + 1], nn.BatchNorm2d)]
    assert len(pairs) == len(convs), (len(pairs), len(convs))
    with torch.no_grad():
        for (conv, bn), node in zip(pairs, convs):
            w, b = init[node.input[1]].copy(), init[node.input[2]].copy()
            assert tuple(conv.weight.shape) == w.shape, (conv.weight.shape, w.shape)
            conv.weight.copy_(torch.from_numpy(w))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        model.classifier.weight.copy_(torch.from_numpy(init[gemm.input[1]].copy()))
        model.classifier.bias.copy_(torch.from_numpy(init[gemm.input[2]].copy()))


def augment_crops(xb, rng):
    """Seeded photometric jitter of uint8 crops (N, S, S, 3) that keeps the letterbox bars black: gain
    0.6-1.4, gamma 0.7-1.4, saturation 0.5-1.5 (p 0.8 each), Gaussian blur sigma 0.5-1.5 (p 0.2), JPEG
    quality 25-90 (p 0.3). The crops already carry the camera effects of crops.py; this varies them
    per epoch instead of showing the same pixels every time a variant comes round."""
    import cv2
    out = np.empty_like(xb)
    for i in range(len(xb)):
        im = xb[i].astype(np.float32) / 255.0
        if rng.random() < 0.8:
            im = np.clip(im, 0, 1) ** rng.uniform(0.7, 1.4) * rng.uniform(0.6, 1.4)
        if rng.random() < 0.8:
            g = im.mean(2, keepdims=True)
            im = g + (im - g) * rng.uniform(0.5, 1.5)
        u8 = np.clip(im * 255 + 0.5, 0, 255).astype(np.uint8)
        if rng.random() < 0.2:
            u8 = cv2.GaussianBlur(u8, (0, 0), rng.uniform(0.5, 1.5))
        if rng.random() < 0.3:
            ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
            u8 = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        out[i] = u8
    return out


def freeze_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


@torch.no_grad()
def predict(model, x_u8, bs=200):
    model.eval()
    out = [model(to_input(x_u8[i:i + bs]).contiguous(memory_format=CL)) for i in range(0, len(x_u8), bs)]
    return torch.cat(out)


def pr_curve(p_no_mask, y):
    """Per threshold t (no_mask when p >= t): no_mask recall / precision, mask recall / precision."""
    rows = []
    for t in [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9]:
        pred = (p_no_mask >= t).astype(int)
        cm = confusion(y, pred)
        pc = per_class(cm)
        rows.append({"t": t, "noMaskRecall": pc["no_mask"]["recall"], "noMaskPrecision": pc["no_mask"]["precision"],
                     "maskRecall": pc["mask"]["recall"], "maskPrecision": pc["mask"]["precision"],
                     "accuracy": round(float(np.trace(cm) / len(y)), 4)})
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--alpha", type=float, default=0.5, help="the base's width multiplier (0.25 for tflite_base.py's ImageNet base, D146)")
    ap.add_argument("--base-sha256", default="99c170c412b0865ec409ce0f3e6d30cf8da13460981c727f294c42021be786cb")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--smoothing", type=float, default=0.1)
    ap.add_argument("--ema", type=float, default=0.99)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--recall", type=float, default=0.97, help="unmasked recall the operating point must reach on val")
    ap.add_argument("--val-variants", type=int, default=0,
                    help="score only val crops of variants < N (0 = all; 2 = a close-up and one entrance size per val image, as 1.2.0's val)")
    ap.add_argument("--base-threshold", type=float, default=0.0,
                    help="also score the base with its own rule (no_mask when p >= this) on the same val crops")
    ap.add_argument("--augment", action="store_true",
                    help="photometric jitter, blur and JPEG on the training crops each epoch (augment_crops)")
    ap.add_argument("--images", default=None, metavar="DATA",
                    help="the dataset root of the crops file's `files`: each training image whole (data.augment) as one more variant")
    ap.add_argument("--images-weight", type=int, default=1, help="with --images: the whole image counts as this many variants")
    ap.add_argument("--select", choices=["crops", "crops+images"], default="crops",
                    help="what picks the epoch and the rule: the val crops, or the val crops and val images whole together (selection.py)")
    ap.add_argument("--images-recall", type=float, default=None, metavar="R",
                    help="with --select crops+images: the unmasked recall floor on the val images whole (default: the base's "
                         "own at --base-threshold); give the replaced model's own when the input size differs (D143)")
    ap.add_argument("--metrics", default=None)
    ap.add_argument("--name", default="mask-mobilenet")
    ap.add_argument("--version", default="1.2.0")
    a = ap.parse_args()
    if a.select == "crops+images" and not a.images:
        ap.error("--select crops+images needs --images DATA (the val images are scored whole)")
    t_start = time.time()
    torch.set_num_threads(a.threads)
    seed_everything(a.seed)
    with open(a.base, "rb") as f:
        base_sha = hashlib.sha256(f.read()).hexdigest()
    if a.base_sha256 and base_sha != a.base_sha256:
        sys.exit(f"{a.base}: sha256 {base_sha}, expected {a.base_sha256} (--base-sha256 '' to accept any)")
    d = np.load(a.crops)
    x, y, src, variant, val = d["x"], d["y"], d["src"], d["variant"], d["val"]
    S = x.shape[1]
    tr_idx = np.nonzero(~val)[0]
    va_idx = np.nonzero(val & ((variant < a.val_variants) if a.val_variants else True))[0]
    by_src = {}
    for i in tr_idx:
        by_src.setdefault(int(src[i]), []).append(int(i))
    srcs = sorted(by_src)
    val_u8 = torch.from_numpy(x[va_idx])
    val_y = torch.from_numpy(y[va_idx])
    whole, vimg_u8, vimg_y = {}, None, None  # src -> (RGB image, label); the val images letterboxed
    if a.images:
        files, first = d["files"], {}
        for i in range(len(src)):
            first.setdefault(int(src[i]), i)
        for s_ in srcs:
            whole[s_] = (load_rgb(os.path.join(a.images, str(files[s_]))), int(y[first[s_]]))
            by_src[s_].extend([-1 - s_] * a.images_weight)
        vsrc = sorted({int(src[i]) for i in np.nonzero(val)[0]})
        vimg_u8 = torch.from_numpy(np.stack([letterbox(load_rgb(os.path.join(a.images, str(files[s_]))), S) for s_ in vsrc]))
        vimg_y = torch.from_numpy(np.array([y[first[s_]] for s_ in vsrc]))
        print(f"+ {len(whole)} train images whole (x{a.images_weight} variant); {len(vsrc)} val images scored whole", flush=True)
    print(f"crops {len(x)} ({S}x{S}); train images {len(srcs)}, val crops {len(va_idx)} "
          f"({np.bincount(y[va_idx], minlength=2).tolist()})", flush=True)

    model = MobileNetV1(a.alpha, len(LABELS), 0.2)
    load_base(model, a.base)
    params, macs = count_params_macs(model, S)
    model = model.to(memory_format=CL)
    base_logits = predict(model, val_u8)
    base_acc = (base_logits.argmax(1) == val_y).float().mean().item()
    print(f"base model on the val crops: accuracy {base_acc:.4f}", flush=True)
    base_rule = None
    if a.base_threshold:
        bp = torch.softmax(base_logits, 1)[:, 1].numpy()
        bcm = confusion(val_y.numpy(), (bp >= a.base_threshold).astype(int))
        bt = choose_threshold(bp, val_y.numpy(), a.recall)
        bcm2 = confusion(val_y.numpy(), (bp >= bt).astype(int))
        base_rule = {"threshold": a.base_threshold, "confusion": bcm.tolist(), "perClass": per_class(bcm),
                     "accuracy": round(float(np.trace(bcm) / len(bp)), 5),
                     "rechosen": {"threshold": bt, "confusion": bcm2.tolist(), "perClass": per_class(bcm2),
                                  "accuracy": round(float(np.trace(bcm2) / len(bp)), 5)}}
        print(f"base with its rule (no_mask when p >= {a.base_threshold}): {base_rule}", flush=True)
    base_images, images_recall = None, None
    if vimg_u8 is not None:  # the base on the val images whole, at its own rule (argmax without --base-threshold)
        bpi = torch.softmax(predict(model, vimg_u8), 1)[:, 1].numpy()
        bt_i, vy_i = a.base_threshold or 0.5, vimg_y.numpy()
        images_recall = recall_at(bpi, vy_i, bt_i)
        base_images = {"threshold": bt_i, "accuracy": round(float(((bpi >= bt_i).astype(int) == vy_i).mean()), 5),
                       "noMaskRecall": round(images_recall, 5), "noMaskMissed": int(((bpi < bt_i) & (vy_i == 1)).sum())}
        print(f"base on the val images whole at its rule: {base_images}", flush=True)
        if a.images_recall is not None:  # the base's weights at another input size are not the model it replaces (D143)
            images_recall = base_images["floor"] = a.images_recall
            print(f"unmasked recall floor on the val images whole: {a.images_recall} (--images-recall)", flush=True)
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)
    spe = math.ceil(len(srcs) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, epochs=a.epochs, steps_per_epoch=spe, pct_start=0.15,
                                                anneal_strategy="cos", div_factor=10, final_div_factor=100)
    ema = EMA(model, a.ema)
    crit = nn.CrossEntropyLoss(label_smoothing=a.smoothing)
    history, best, best_key, best_state, step = [], None, None, None, 0
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        model.train()
        freeze_bn(model)
        rng = np.random.default_rng([a.seed, epoch])
        order = rng.permutation(len(srcs))
        tot, ok, n = 0.0, 0, 0
        for b in range(spe):
            pick = [by_src[srcs[k]][int(rng.integers(len(by_src[srcs[k]])))] for k in order[b * a.batch:(b + 1) * a.batch]]
            if len(pick) < 2:
                continue
            pick = np.array(pick)
            is_img = pick < 0
            xb = x[np.where(is_img, 0, pick)].copy()
            flip = rng.random(len(pick)) < 0.5
            xb[flip] = xb[flip][:, :, ::-1]
            if a.augment:
                xb = augment_crops(np.ascontiguousarray(xb), rng)
            for j in np.nonzero(is_img)[0]:  # the whole image: train.py's augmentation (flip included)
                xb[j] = augment(whole[-1 - int(pick[j])][0], S, rng)
            xb = to_input(np.ascontiguousarray(xb)).contiguous(memory_format=CL)
            yb = torch.from_numpy(np.array([whole[-1 - int(i)][1] if i < 0 else y[i] for i in pick], np.int64))
            logits = model(xb)
            loss = crit(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            ema.update(model, step)
            tot += loss.item() * len(pick)
            ok += (logits.argmax(1) == yb).sum().item()
            n += len(pick)
        lo = predict(ema.model, val_u8)
        acc = (lo.argmax(1) == val_y).float().mean().item()
        vloss = F.cross_entropy(lo, val_y).item()
        rec = {"epoch": epoch, "trainLoss": round(tot / n, 5), "trainAccuracy": round(ok / n, 5),
               "valAccuracy": round(acc, 5), "valLoss": round(vloss, 5), "seconds": round(time.time() - t0, 1)}
        if vimg_u8 is not None:
            lo_i = predict(ema.model, vimg_u8)
            pi = lo_i.argmax(1)
            rec["valImagesAccuracy"] = round((pi == vimg_y).float().mean().item(), 5)
            rec["valImagesNoMaskRecall"] = round((pi[vimg_y == 1] == 1).float().mean().item(), 5)
        if a.select == "crops+images":  # D140: the epoch as it would ship, in both modes (selection.py)
            rec["select"] = judge_epoch(torch.softmax(lo, 1)[:, 1].numpy(), val_y.numpy(), vloss,
                                        torch.softmax(lo_i, 1)[:, 1].numpy(), vimg_y.numpy(), F.cross_entropy(lo_i, vimg_y).item(),
                                        a.recall, images_recall)
            key = (rec["select"]["score"], rec["select"]["loss"])
        else:  # both sides rounded alike: the unrounded accuracy against the stored rounded one made a tie lose (D131)
            key = (rec["valAccuracy"], rec["valLoss"])
        history.append(rec)
        is_best = better(key, best_key)
        if is_best:
            best, best_key, best_state = rec, key, {k: v.clone() for k, v in ema.model.state_dict().items()}
        print(f"epoch {epoch}/{a.epochs} train loss {rec['trainLoss']:.4f} acc {rec['trainAccuracy']:.4f} | "
              f"val acc {acc:.4f} loss {vloss:.4f} | images {rec.get('valImagesAccuracy', '-')} | {rec.get('select', '')} {rec['seconds']}s{'  *best' if is_best else ''}", flush=True)

    final = MobileNetV1(a.alpha, len(LABELS), 0.2)
    final.load_state_dict(best_state)
    final.eval()
    logits = predict(final, val_u8)
    p = torch.softmax(logits, 1)[:, 1].numpy()
    vy = val_y.numpy()
    cm = confusion(vy, logits.argmax(1).numpy())
    images_at_rule = None
    if vimg_u8 is not None:
        pim, vyi = torch.softmax(predict(final, vimg_u8), 1)[:, 1].numpy(), vimg_y.numpy()
    if a.select == "crops+images":
        t = choose_threshold_joint([(p, vy, a.recall), (pim, vyi, images_recall)])
    else:
        t = choose_threshold(p, vy, a.recall)
    cm_t = confusion(vy, (p >= t).astype(int))
    if vimg_u8 is not None:
        cmi = confusion(vyi, (pim >= t).astype(int))
        images_at_rule = {"threshold": t, "confusion": cmi.tolist(), "perClass": per_class(cmi),
                          "accuracy": round(float(np.trace(cmi) / len(vyi)), 5)}
        print(f"val images whole at the rule: {images_at_rule}; the base at its own: {base_images}", flush=True)
    vv = variant[va_idx]
    by_variant = {name: round(float(((p[sel] >= t).astype(int) == vy[sel]).mean()), 4)
                  for name, sel in (("close-up", vv == 0), ("entrance", vv > 0)) if sel.any()}
    print(f"best epoch {best['epoch']}: val acc {np.trace(cm) / len(vy):.4f} (argmax) {cm.tolist()}; "
          f"rule no_mask when p >= {t}: acc {np.trace(cm_t) / len(vy):.4f} {cm_t.tolist()} {per_class(cm_t)} {by_variant}", flush=True)

    import onnx
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    wrapper = ExportWrapper(final).eval()
    torch.onnx.export(wrapper, to_input(val_u8[:2]), onnx_path, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits", "features"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}})
    om = onnx.load(onnx_path)
    onnx.checker.check_model(om)
    write_metadata(om, LABELS, a.name)  # labels and preprocessing in the file (1.2.0 lacked them); before the hash
    onnx.save(om, onnx_path)
    with torch.no_grad():
        t_logits, _ = wrapper(to_input(val_u8))
    checks = {}
    for engine, fn in (("onnxruntime-node", run_ort_node), ("opencv-dnn", run_cv2_dnn)):
        try:
            lo, _, info = fn(onnx_path, to_input(val_u8).numpy())
        except Exception as e:
            checks[engine] = {"skipped": str(e).strip().splitlines()[-1][:200]}
            continue
        checks[engine] = {"maxAbsDiffLogits": float(np.abs(lo - t_logits.numpy()).max()),
                          "argmaxAgreement": int((lo.argmax(1) == t_logits.numpy().argmax(1)).sum()), **info}
        print(f"ONNX vs torch ({engine}): {checks[engine]}", flush=True)
        assert checks[engine]["maxAbsDiffLogits"] < 1e-3, f"{engine} disagrees with torch"
    with open(onnx_path, "rb") as f:
        blob = f.read()
    sha = hashlib.sha256(blob).hexdigest()
    crops_meta = {}
    meta_path = os.path.splitext(a.crops)[0] + ".json"
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            crops_meta = json.load(f)
    training = {
        "recipe": "models/train/crops.py + models/train/train_crops.py", "arch": "mobilenet_v1", "alpha": a.alpha, "size": S,
        "base": {"file": os.path.basename(a.base), "sha256": base_sha}, "epochs": a.epochs, "bestEpoch": best["epoch"],
        "seed": a.seed, "select": a.select, "valAccuracy": round(float(np.trace(cm_t) / len(vy)), 4), "valCrops": int(len(vy)),
        "params": params, "macs": macs, "torch": torch.__version__, "date": datetime.date.today().isoformat(),
        "data": "face-mask train/val (chandrikadeb7/Face-Mask-Detection, MIT) as detector crops"
                + (" and the train images whole (train.py's augmentation)" if a.images else "") + "; val = val split minus near-duplicates of train",
        "command": " ".join(["/usr/bin/python3", "models/train/train_crops.py"] + sys.argv[1:]),
    }
    manifest = {
        "format": "mobilenet-edge/model@1", "name": a.name, "version": a.version, "task": "classify",
        "file": "model.onnx", "sha256": sha,
        "input": {"name": "input", "layout": "NCHW", "width": S, "height": S, "colorOrder": "RGB", "resize": "letterbox", "padColor": [0, 0, 0]},
        "preprocess": {"scale": 1 / 127.5, "mean": [1, 1, 1], "std": [1, 1, 1]},
        "output": {"name": "logits", "kind": "logits"},
        "labels": LABELS, "features": "features",
        "decision": {"label": "no_mask", "threshold": t, "chosenFor": f"unmasked recall >= {a.recall} on val crops"
                     + (f" and >= {round(images_recall, 4)} (the base's) on val images whole" if a.select == "crops+images" else "")},
        "training": training,
    }
    with open(os.path.join(a.out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    metrics = {"command": training["command"], "args": vars(a), "crops": crops_meta, "params": params, "macs": macs,
               "modelBytes": len(blob), "sha256": sha, "baseValAccuracy": round(base_acc, 5), "baseRule": base_rule, "bestEpoch": best["epoch"],
               "argmax": {"confusion": cm.tolist(), "perClass": per_class(cm), "accuracy": round(float(np.trace(cm) / len(vy)), 5)},
               "decision": {"threshold": t, "confusion": cm_t.tolist(), "perClass": per_class(cm_t),
                            "accuracy": round(float(np.trace(cm_t) / len(vy)), 5), "byVariant": by_variant},
               "select": a.select, "baseImages": base_images, "imagesAtRule": images_at_rule,
               "prCurve": pr_curve(p, vy), "onnxCheck": checks, "wallSeconds": round(time.time() - t_start, 1),
               "threads": a.threads, "history": history}
    mp = a.metrics or os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics-crops.json")
    with open(mp, "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} (sha256 {sha}), model.json, {mp}; {(time.time() - t_start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
