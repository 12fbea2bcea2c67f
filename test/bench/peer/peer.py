#!/usr/bin/env python3
"""The comparison peer: the plain loop a user would otherwise write, one process per camera.

cv2.VideoCapture on the RTSP URL -> cv2.dnn UltraFace (the daemon's detector: stretch to its input size,
(x-127)/128; a face's score is its best face class, so the masked-face model's face / masked_face
count alike) -> score threshold + NMS -> crops (margin 0.2, squared, clipped) letterboxed to the classifier's size (--cls-size),
(x-127.5)/127.5 -> cv2.dnn MobileNet (one forward per frame, all crops batched; no_mask when
p(no_mask) >= the manifest's decision threshold) -> paho-mqtt
publish of {camera, frame, ts, label, faces, latencyMs} on PREFIX/CAMERA/mask (QoS 0).

Run with Debian's /usr/bin/python3 (python3-opencv 4.6, python3-paho-mqtt, python3-onnx).
OpenCV 4.6's ONNX importer cannot read opset-13 Clip (inputs min/max): the classifier's Clip nodes
are rewritten in memory to the opset-10 form with attributes (same weights), as models/train/train.py
does. Prints READY after the first published result.
"""
import argparse, json, os, sys, time
from datetime import datetime, timezone

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402

# The OpenCV loader with the Clip rewrite lives beside the training recipe.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "models", "train"))
from cv2_onnx import load_cv2_net  # noqa: E402


def letterbox(img, size):
    h, w = img.shape[:2]
    s = min(size / w, size / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    out = np.zeros((size, size, 3), np.uint8)
    x, y = (size - nw) // 2, (size - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--camera", required=True)
    ap.add_argument("--mqtt-port", type=int, required=True)
    ap.add_argument("--prefix", default="peer")
    ap.add_argument("--detector", required=True)
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--det-width", type=int, default=320)
    ap.add_argument("--det-height", type=int, default=240)
    ap.add_argument("--det-threshold", type=float, default=0.7)
    ap.add_argument("--det-iou", type=float, default=0.3)
    ap.add_argument("--cls-size", type=int, default=128)
    ap.add_argument("--no-mask-threshold", type=float, default=0.5)
    a = ap.parse_args()

    det = cv2.dnn.readNetFromONNX(a.detector)
    cls = load_cv2_net(a.classifier)
    labels = ["mask", "no_mask"]
    client = mqtt.Client(client_id=f"peer-{a.camera}-{os.getpid()}")
    client.connect("127.0.0.1", a.mqtt_port)
    client.loop_start()
    topic = f"{a.prefix}/{a.camera}/mask"
    cap = cv2.VideoCapture(a.url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        print(f"cannot open {a.url}", file=sys.stderr)
        return 2
    seq = 0
    ready = False
    while True:
        ok, frame = cap.read()
        if not ok:
            print("stream ended", file=sys.stderr)
            return 1
        ts = time.time()
        seq += 1
        H, W = frame.shape[:2]
        det.setInput(cv2.dnn.blobFromImage(frame, 1 / 128, (a.det_width, a.det_height), (127, 127, 127), swapRB=True))
        scores, boxes = det.forward(["scores", "boxes"])
        s = scores[0, :, 1:].max(axis=1)
        keep = s > a.det_threshold
        bx = boxes[0][keep] * np.array([W, H, W, H], np.float32)
        sc = s[keep]
        rects = [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in bx]
        idx = cv2.dnn.NMSBoxes(rects, sc.tolist(), a.det_threshold, a.det_iou) if rects else []
        crops = []
        for i in np.array(idx).reshape(-1):
            x1, y1, x2, y2 = bx[i]
            side = max(x2 - x1, y2 - y1) * 1.4
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            l, t = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
            r, b = min(W, round(cx + side / 2)), min(H, round(cy + side / 2))
            if r - l >= 8 and b - t >= 8:
                crops.append(letterbox(frame[t:b, l:r], a.cls_size))
        faces = []
        if crops:
            cls.setInput(cv2.dnn.blobFromImages(crops, 1 / 127.5, (a.cls_size, a.cls_size), (127.5, 127.5, 127.5), swapRB=True))
            logits = cls.forward("logits")
            for row in logits.reshape(len(crops), -1):
                e = np.exp(row - row.max())
                p = e / e.sum()
                k = 1 if p[1] >= a.no_mask_threshold else 0
                faces.append({"label": labels[k], "score": float(p[k])})
        label = "no_face" if not faces else ("no_mask" if any(f["label"] == "no_mask" for f in faces) else "mask")
        now = time.time()
        client.publish(topic, json.dumps({
            "camera": a.camera, "frame": seq,
            "ts": datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "label": label, "faces": faces, "latencyMs": round((now - ts) * 1000, 2),
        }), qos=0)
        if not ready:
            print("READY", flush=True)
            ready = True


if __name__ == "__main__":
    sys.exit(main())
