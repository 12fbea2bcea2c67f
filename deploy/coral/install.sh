#!/usr/bin/env bash
# Coral Edge TPU support for mobilenet-edge on Debian / Raspberry Pi OS / Mendel:
# libedgetpu (the delegate), a TFLite runtime for /usr/bin/python3, the udev rule, and the
# service user in the groups that may open the accelerator. Run as root.
#
#   deploy/coral/install.sh [--user mobilenet-edge] [--max]    (--max: libedgetpu1-max, faster and hotter)
#
# NOT RUN YET on a Coral device (written on x64 without one): see docs/ACCELERATORS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
user=mobilenet-edge
flavour=std
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user="$2"; shift 2 ;;
    --max) flavour=max; shift ;;
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
    || { echo "no tflite_runtime for $(/usr/bin/python3 --version): install a matching wheel by hand" >&2; exit 1; }
fi
apt-get install -y python3-pycoral 2>/dev/null || echo "python3-pycoral not available: the worker uses tflite_runtime + libedgetpu directly"

# 3. Device access: USB accelerator via udev + plugdev; PCIe/M.2 (and the Dev Board on Mendel) via /dev/apex_0 (group apex).
install -m 0644 "$here/99-mobilenet-edge-coral.rules" /etc/udev/rules.d/99-mobilenet-edge-coral.rules
udevadm control --reload-rules && udevadm trigger || true
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
usermod -aG plugdev "$user"
getent group apex >/dev/null && usermod -aG apex "$user"

# 4. Check: the worker's runtime and the device.
/usr/bin/python3 -c 'import tflite_runtime.interpreter as t; t.load_delegate("libedgetpu.so.1"); print("Edge TPU delegate loads")' \
  || echo "the Edge TPU delegate does not load: is the accelerator plugged in (re-plug it after installing the rule)?" >&2
echo "now: npm run device-check -- --model <bundle with an _edgetpu.tflite>/model.json --expect edgetpu"
