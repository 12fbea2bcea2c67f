#!/usr/bin/env bash
# Coral Edge TPU support for mobilenet-edge on Debian / Raspberry Pi OS / Mendel:
# libedgetpu (the delegate), a TFLite runtime for /usr/bin/python3, the udev rule, and the
# service user in the groups that may open the accelerator. Run as root.
#
#   deploy/coral/install.sh [--user mobilenet-edge] [--max] [--no-face-detector]
#     --max: libedgetpu1-max, faster and hotter
#     the face detector for faces mode (Coral's SSD MobileNet V2 face model, Edge TPU + CPU files) is
#     fetched from github.com/google-coral/test_data into /var/lib/mobilenet-edge/detectors/coral-face
#     with a model.json written from the files themselves; --no-face-detector skips it
#
# NOT RUN YET on a Coral device (written on x64 without one): see docs/ACCELERATORS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
user=mobilenet-edge
flavour=std
face=1
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user="$2"; shift 2 ;;
    --max) flavour=max; shift ;;
    --no-face-detector) face=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

# 1. Coral's apt repository (Mendel already has it) and the delegate.
if ! apt-cache policy 2>/dev/null | grep -q packages.cloud.google.com/apt; then
  apt-get install -y curl gnupg ca-certificates
  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/coral-edgetpu.gpg
  echo "deb [signed-by=/usr/share/keyrings/coral-edgetpu.gpg] https://packages.cloud.google.com/apt coral-edgetpu-stable main" >/etc/apt/sources.list.d/coral-edgetpu.list
  apt-get update
fi
apt-get install -y "libedgetpu1-$flavour" python3-numpy

# 2. A TFLite runtime importable by /usr/bin/python3 (the worker runs there).
if /usr/bin/python3 -c 'import tflite_runtime' 2>/dev/null; then
  echo "tflite_runtime already importable"
elif apt-get install -y python3-tflite-runtime 2>/dev/null; then
  echo "installed python3-tflite-runtime"
else
  # Coral's debs stop at older Pythons; a wheel for this Python is the fallback.
  /usr/bin/python3 -m pip install --break-system-packages tflite-runtime \
    || /usr/bin/python3 -m pip install --break-system-packages ai-edge-litert \
    || { echo "no tflite_runtime or ai_edge_litert for $(/usr/bin/python3 --version): install a matching wheel by hand" >&2; exit 1; }
fi
apt-get install -y python3-pycoral 2>/dev/null || echo "python3-pycoral not available: the worker uses tflite_runtime + libedgetpu directly"

# 3. Device access: USB accelerator via udev + plugdev; PCIe/M.2 (and the Dev Board on Mendel) via /dev/apex_0 (group apex).
install -m 0644 "$here/99-mobilenet-edge-coral.rules" /etc/udev/rules.d/99-mobilenet-edge-coral.rules
udevadm control --reload-rules && udevadm trigger || true
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
usermod -aG plugdev "$user"
getent group apex >/dev/null && usermod -aG apex "$user"

# 4. The face detector for faces mode, fetched here on the device (nothing is downloaded at run time).
# The sha256 is computed from what was downloaded (trust on first download: no pinned hash was available
# where this script was written) and printed; model.json records it, and the worker checks it at every load.
if [ "$face" = 1 ]; then
  det=/var/lib/mobilenet-edge/detectors/coral-face
  base=https://github.com/google-coral/test_data/raw/master
  install -d -m 0755 "$det"
  for f in ssd_mobilenet_v2_face_quant_postprocess_edgetpu.tflite ssd_mobilenet_v2_face_quant_postprocess.tflite; do
    if [ ! -s "$det/$f" ]; then curl -fsSL -o "$det/$f.part" "$base/$f"; mv "$det/$f.part" "$det/$f"; fi
  done
  /usr/bin/python3 "$here/face-detector-manifest.py" "$det"
  echo 'faces mode on the Coral: "engine": {"backend": "edgetpu"}, "faces": {"detector": "'"$det"'/model.json"}'
fi

# 5. Check: the worker's runtime and the device.
/usr/bin/python3 -c 'import tflite_runtime.interpreter as t; t.load_delegate("libedgetpu.so.1"); print("Edge TPU delegate loads")' \
  || echo "the Edge TPU delegate does not load: is the accelerator plugged in (re-plug it after installing the rule)?" >&2
echo "now: npm run device-check -- --model <bundle with an _edgetpu.tflite>/model.json --expect edgetpu"
