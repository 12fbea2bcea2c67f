#!/usr/bin/python3
"""Fine-tune the masked-face UltraFace detector for small and edge-cut masked faces.

ultraface-masked-rfb-640 2.1.0 (the bundled detector) is this recipe's output, made from the upstream
file (2.0.0, sha256 27ca3e59..., in ../shared/models or `git show d4835d7:models/ultraface-masked-rfb-640/
ultraface-masked-rfb-640.onnx`) with

    nice -n 5 /usr/bin/python3 models/train/train_detector.py --data /work/shared/datasets/face-mask \
        --model /work/shared/models/ultraface-masked-rfb-640.onnx --distill 1 \
        --out /tmp/det-ft.onnx --work /tmp/det-ft

(8 epochs of about 210 s on this 2-core machine, then about 5 min choosing; docs/DECISIONS.md D151).

Frames and labels: detector_data.py (the upstream detector's own one-clear-face close-ups, composited
at entrance sizes into 320x240 tiles of its input, a third of the faces cut by an edge). The graph is
detector_net.py's: the ONNX file's own operators in torch, every Conv trained, written back into the
same graph. Loss: UltraFace's (SSD MultiBox): priors matched to boxes at IoU >= 0.35 (each box also
gets its best prior), cross-entropy over background / face / masked_face with hard negatives 3:1,
smooth L1 on the encoded box; priors on an "ignore" face take no part. With --distill, the KL from the
upstream model's class scores on every background prior keeps its background where the labels say
nothing new. Adam, cosine learning rate.

The epoch is chosen on frames made the same way from the data set's val images (their own labels,
fixed seed): at each epoch the lowest score threshold whose false boxes per frame exceed the upstream
model's at 0.4 by at most --fp-slack, then the highest min(masked recall, bare recall) there. The
repo's scene photos are not used here: they are the held-out measure (`edgectl eval --scenes`), as
are crops.py's composites (`--detector`).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import detector_data as dd
from detector_net import OnnxNet, encode, priors


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def corners(p):
    return torch.cat([p[:, :2] - p[:, 2:] / 2, p[:, :2] + p[:, 2:] / 2], 1)


def iou_matrix(a, b):
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    area = lambda x: (x[:, 2:] - x[:, :2]).clamp(min=0).prod(1)
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def targets(boxes, pri, pri_c, w, h, thr=0.35):
    """Per prior: class (0 background, 1 face, 2 masked_face, -1 ignore) and encoded box."""
    n = pri.shape[0]
    labels = torch.zeros(n, dtype=torch.long)
    loc = torch.zeros(n, 4)
    real = [(b, c) for b, c, ig in boxes if not ig]
    ign = [b for b, c, ig in boxes if ig]
    if ign:
        ib = torch.tensor(ign, dtype=torch.float32) / torch.tensor([w, h, w, h])
        labels[iou_matrix(ib, pri_c).max(0).values >= thr] = -1
    if real:
        gb = torch.tensor([b for b, _ in real], dtype=torch.float32) / torch.tensor([w, h, w, h])
        gc = torch.tensor([c for _, c in real])
        m = iou_matrix(gb, pri_c)
        best_iou, best_gt = m.max(0)
        best_iou[m.argmax(1)] = 2.0
        best_gt[m.argmax(1)] = torch.arange(len(real))
        pos = best_iou >= thr
        labels[pos] = gc[best_gt[pos]]
        g = gb[best_gt]
        cxcywh = torch.cat([(g[:, :2] + g[:, 2:]) / 2, (g[:, 2:] - g[:, :2]).clamp(min=1e-4)], 1)
        loc = encode(cxcywh, pri)
    return labels, loc


def multibox_loss(logits, loc_pred, labels, loc_t, neg_ratio=3):
    ce = F.cross_entropy(logits.reshape(-1, 3), labels.clamp(min=0).reshape(-1), reduction="none").reshape(labels.shape)
    pos = labels > 0
    with torch.no_grad():
        bg = -F.log_softmax(logits, 2)[..., 0]
        bg[labels != 0] = -1  # positives and ignores are never negatives
        num_neg = (pos.sum(1, keepdim=True) * neg_ratio).clamp(min=8)
        rank = bg.argsort(1, descending=True).argsort(1)
        neg = (rank < num_neg) & (labels == 0)
    n_pos = max(1, int(pos.sum()))
    conf = ce[pos | neg].sum() / n_pos
    box = F.smooth_l1_loss(loc_pred[pos], loc_t[pos], reduction="sum") / n_pos
    return conf, box


def predict(net, tiles, pri, floor=0.1, classes=False):
    """Per tile: face scores (the better of face / masked_face) and boxes in tile pixels, score > floor,
    NMS'd; with `classes`, also each box's class (1 face, 2 masked_face)."""
    out = []
    net.eval()
    with torch.no_grad():
        for i in range(0, len(tiles), 32):
            x = torch.from_numpy(np.stack([(t.astype(np.float32) - 127) / 128 for t in tiles[i:i + 32]]).transpose(0, 3, 1, 2).copy())
            logits, loc = net(x)
            probs = torch.softmax(logits, 2)[..., 1:]
            sc, cls = probs.max(2).values.numpy(), probs.argmax(2).numpy() + 1
            cxcy = loc[..., :2] * 0.1 * pri[:, 2:] + pri[:, :2]
            wh = torch.exp(loc[..., 2:] * 0.2) * pri[:, 2:]
            bx = (torch.cat([cxcy - wh / 2, cxcy + wh / 2], 2) * torch.tensor([dd.TILE_W, dd.TILE_H] * 2)).numpy()
            for k in range(len(sc)):
                m = sc[k] >= floor if classes else sc[k] > floor
                keep = dd._nms(bx[k][m], sc[k][m]) if m.any() else []
                out.append((sc[k][m][keep], bx[k][m][keep]) + ((cls[k][m][keep],) if classes else ()))
    return out


def score_at(preds, frames, thr):
    """Recall per class (and for cut faces) at score thr, false boxes per frame (IoU < 0.3 with every box)."""
    found = {1: [0, 0], 2: [0, 0], "cut": [0, 0]}
    false = 0
    for (s, b), (_, boxes) in zip(preds, frames):
        det = torch.tensor(b[s > thr], dtype=torch.float32).reshape(-1, 4)
        m_iou = iou_matrix(det, torch.tensor([bb for bb, _, _ in boxes], dtype=torch.float32)) if boxes and len(det) else None
        false += len(det) if m_iou is None else int((m_iou.max(1).values < 0.3).sum())
        for j, (bb, c, ig) in enumerate(boxes):
            if ig:
                continue
            hit = m_iou is not None and bool((m_iou[:, j] >= 0.4).any())
            found[c][0] += hit; found[c][1] += 1
            if bb[0] <= 0.5 or bb[1] <= 0.5 or bb[2] >= dd.TILE_W - 0.5 or bb[3] >= dd.TILE_H - 0.5:
                found["cut"][0] += hit; found["cut"][1] += 1
    r = lambda k: found[k][0] / max(1, found[k][1])
    return {"masked": r(2), "bare": r(1), "cut": r("cut"), "false_per_frame": false / len(frames),
            "counts": {"masked": found[2], "bare": found[1], "cut": found["cut"]}}


def evaluate(net, frames, pri, thr=0.4):
    return score_at(predict(net, [t for t, _ in frames], pri), frames, thr)


def photo_list(dirs):
    """Background photos without faces: one file per wallpaper (KDE ships each in several sizes)."""
    out = {}
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.lower().endswith((".jpg", ".jpeg", ".png")):
                    key = root.split("/contents/")[0] if "/contents/" in root else os.path.join(root, f)
                    out.setdefault(key, os.path.join(root, f))
    return sorted(out.values())


def teacher_boxes(teacher, tiles, pri, hi=0.5, lo=0.1):
    """The shipped detector's boxes on tiles: >= hi a face of its class, lo..hi ignored, the rest background."""
    return [[(tuple(float(v) for v in np.clip(b, 0, [dd.TILE_W, dd.TILE_H] * 2)), int(c), bool(f < hi)) for f, b, c in zip(*p)]
            for p in predict(teacher, tiles, pri, floor=lo, classes=True)]


def with_teacher(scenes, teacher, pri):
    """Each scene's labelled face plus the shipped model's other boxes on the tile (IoU < 0.3 with it)."""
    if not scenes:
        return []
    out = []
    for (tile, boxes), extra in zip(scenes, teacher_boxes(teacher, [t for t, _ in scenes], pri)):
        known = torch.tensor([b for b, _, _ in boxes], dtype=torch.float32)
        for b, c, ig in extra:
            if float(iou_matrix(torch.tensor([b], dtype=torch.float32), known).max()) < 0.3:
                boxes = boxes + [(b, c, ig)]
        out.append((tile, boxes))
    return out


def labels_for(net, root, split, work):
    p = os.path.join(work, f"labels-{split}.json")
    if os.path.exists(p):
        return [tuple(v) for v in json.load(open(p))]
    items = dd.list_split(root, split)
    lab = dd.pseudo_labels(net, items, log)
    log(f"{split}: {len(lab)} of {len(items)} images have one clear face")
    json.dump(lab, open(p, "w"))
    return lab


THRESHOLDS = [round(0.4 + 0.05 * i, 2) for i in range(11)]  # 0.40 .. 0.90


def choose(a, val, val_scenes, pri):
    """The epoch and score threshold: at each epoch, the lowest threshold whose false boxes per frame
    (val frames and val close-ups together) stay within --fp-slack of the shipped model's at 0.4;
    then the epoch with the best min(masked, bare) recall on the val frames at its threshold."""
    both = val + val_scenes

    def sweep(net):
        pf, ps = predict(net, [t for t, _ in val], pri), predict(net, [t for t, _ in val_scenes], pri)
        rows = {}
        for t in THRESHOLDS:
            r = score_at(pf, val, t)
            r["false_per_frame_all"] = score_at(pf + ps, both, t)["false_per_frame"]
            rows[t] = r
        return rows
    base = sweep(OnnxNet(a.model))[0.4]
    limit = base["false_per_frame_all"] + a.fp_slack
    log(f"shipped model at 0.4: masked {base['masked']:.4f} bare {base['bare']:.4f} false/frame {base['false_per_frame_all']:.4f}")
    table, best = [], None
    for ep in range(1, a.epochs + 1):
        rows = sweep(OnnxNet(os.path.join(a.work, f"epoch-{ep}.onnx")))
        ok = [t for t in THRESHOLDS if rows[t]["false_per_frame_all"] <= limit + 1e-9]
        if not ok:
            log(f"epoch {ep}: no threshold keeps false boxes within {limit:.4f}/frame")
            continue
        t = ok[0]
        r = rows[t]
        table.append({"epoch": ep, "threshold": t, **r})
        log(f"epoch {ep} at {t}: masked {r['masked']:.4f} bare {r['bare']:.4f} cut {r['cut']:.4f} false/frame {r['false_per_frame_all']:.4f}")
        key = (min(r["masked"], r["bare"]), -r["false_per_frame_all"])
        if best is None or key > best[0]:
            best = (key, ep, t, [{"threshold": u, **v} for u, v in rows.items()])
    return base, table, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "ultraface-masked-rfb-640", "ultraface-masked-rfb-640.onnx"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--frames", type=int, default=2400, help="training frames per epoch")
    ap.add_argument("--val-frames", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--fp-slack", type=float, default=0.0, help="false boxes per val frame allowed above the --model's at 0.4")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--photos", nargs="*", default=["/usr/share/backgrounds", "/usr/share/wallpapers"],
                    help="folders of photos without faces for backgrounds (Debian: gnome-, mate-backgrounds, ukui-wallpapers, plasma-workspace-wallpapers)")
    ap.add_argument("--scene-share", type=float, default=0.5, help="share of each batch that is a labelled data-set image whole, as a close-up")
    ap.add_argument("--distill", type=float, default=0.0,
                    help="weight of KL(shipped || trained) over every background prior (not a face, not ignored): keeps the shipped model's background where the labels say nothing new")
    ap.add_argument("--choose-only", action="store_true", help="skip training: choose among the epochs already in --work")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.work, exist_ok=True)
    net = OnnxNet(a.model)
    teacher = OnnxNet(a.model).requires_grad_(False)
    train_l = labels_for(net, a.data, "train", a.work)
    val_l = labels_for(net, a.data, "val", a.work)
    photos = photo_list(a.photos)
    log(f"{len(photos)} background photos")
    cache = {}
    pri = torch.from_numpy(priors(dd.TILE_W, dd.TILE_H))
    pri_c = corners(pri)
    vrng = np.random.default_rng([a.seed, 1])
    val = [dd.make_frame(val_l, cache, vrng, photos) for _ in range(a.val_frames)]
    val_scenes = with_teacher([dd.make_scene(val_l, cache, vrng, photos) for _ in range(a.val_frames // 2)], teacher, pri)
    history = []
    if not a.choose_only:
        opt = torch.optim.Adam(net.parameters(), lr=a.lr)
        steps = a.epochs * (a.frames // a.batch)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
        rng = np.random.default_rng([a.seed, 0])
        for ep in range(1, a.epochs + 1):
            net.train()
            t0, sums = time.time(), [0.0, 0.0]
            for _ in range(a.frames // a.batch):
                n_scene = int(round(a.batch * a.scene_share))
                batch = [dd.make_frame(train_l, cache, rng, photos) for _ in range(a.batch - n_scene)]
                batch += with_teacher([dd.make_scene(train_l, cache, rng, photos) for _ in range(n_scene)], teacher, pri)
                x = torch.from_numpy(np.stack([(t.astype(np.float32) - 127) / 128 for t, _ in batch]).transpose(0, 3, 1, 2).copy())
                tg = [targets(b, pri, pri_c, dd.TILE_W, dd.TILE_H) for _, b in batch]
                labels, loc_t = torch.stack([t[0] for t in tg]), torch.stack([t[1] for t in tg])
                logits, loc = net(x)
                conf, box = multibox_loss(logits, loc, labels, loc_t)
                loss = conf + box
                if a.distill > 0:
                    with torch.no_grad():
                        t_logp = F.log_softmax(teacher(x)[0], 2)
                    bg = labels == 0
                    kl = (t_logp.exp() * (t_logp - F.log_softmax(logits, 2))).sum(2)
                    loss = loss + a.distill * kl[bg].sum() / max(1, int((labels > 0).sum()))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                sums[0] += float(conf); sums[1] += float(box)
            n = a.frames // a.batch
            history.append({"epoch": ep, "conf_loss": sums[0] / n, "box_loss": sums[1] / n})
            log(f"epoch {ep}: loss {sums[0] / n:.3f}+{sums[1] / n:.3f} ({time.time() - t0:.0f} s)")
            net.save(os.path.join(a.work, f"epoch-{ep}.onnx"))
    base, table, best = choose(a, val, val_scenes, pri)
    if best:
        OnnxNet(os.path.join(a.work, f"epoch-{best[1]}.onnx")).save(a.out)
        log(f"chosen: epoch {best[1]} at score threshold {best[2]} -> {a.out}")
    else:
        log("no epoch keeps false boxes within the slack; nothing saved")
    json.dump({"shipped_at_0.4": base, "epochs": table, "chosen": {"epoch": best[1], "threshold": best[2], "sweep": best[3]} if best else None,
               "losses": history, "args": vars(a)}, open(os.path.join(a.work, "metrics.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
