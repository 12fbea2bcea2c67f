#!/usr/bin/env bash
# Installs mobilenet-edge as a systemd service on Debian, JetPack (Ubuntu) or Mendel. Run as root
# from an unpacked package (npm pack / git checkout with `npm ci` done, so dist/ and node_modules/ exist).
#
#   deploy/install.sh [--prefix /opt/mobilenet-edge] [--no-start]
#
# - copies the package to PREFIX (default /opt/mobilenet-edge)
# - creates the user mobilenet-edge (sysusers.d file; useradd where systemd-sysusers is missing)
# - installs /etc/systemd/system/mobilenet-edge.service (PREFIX substituted)
# - puts an example config in /etc/mobilenet-edge/config.json if there is none (edit it: cameras, MQTT)
# - state lives in /var/lib/mobilenet-edge (StateDirectory=: the MQTT outbox, TensorRT caches)
# - enables the service; starts it unless --no-start
# Coral: run deploy/coral/install.sh too. Jetson: see docs/ACCELERATORS.md for the onnxruntime build.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/opt/mobilenet-edge
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v node >/dev/null || { echo "node (>= 20) is required: install nodejs first" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "node >= 20 required, found $(node --version)" >&2; exit 1; }
[ -f "$src/dist/daemon/main.js" ] || { echo "$src/dist/daemon/main.js missing: run npm ci first" >&2; exit 1; }
command -v ffmpeg >/dev/null || echo "note: no ffmpeg on PATH; the bundled @ffmpeg-installer one will be used (apt-get install ffmpeg is better)"

# 1. The package.
if [ "$src" != "$prefix" ]; then
  mkdir -p "$prefix"
  for p in dist models pipelines systemd deploy docs node_modules package.json README.md; do
    [ -e "$src/$p" ] && cp -a "$src/$p" "$prefix/"
  done
fi
chown -R root:root "$prefix"
chmod -R go-w "$prefix"

# 2. The user.
install -D -m 0644 "$src/systemd/mobilenet-edge.sysusers" /usr/lib/sysusers.d/mobilenet-edge.conf
if command -v systemd-sysusers >/dev/null; then
  systemd-sysusers /usr/lib/sysusers.d/mobilenet-edge.conf
elif ! id mobilenet-edge >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/mobilenet-edge --shell /usr/sbin/nologin --user-group mobilenet-edge
fi
for g in video plugdev apex; do getent group "$g" >/dev/null && usermod -aG "$g" mobilenet-edge; done

# 3. Unit, config, state.
node_bin=$(command -v node)
sed -e "s#/opt/mobilenet-edge#$prefix#g" -e "s#/usr/bin/node#$node_bin#g" "$src/systemd/mobilenet-edge.service" >/etc/systemd/system/mobilenet-edge.service
install -d -m 0755 /etc/mobilenet-edge
if [ ! -e /etc/mobilenet-edge/config.json ]; then
  cat >/etc/mobilenet-edge/config.json <<JSON
{
  "site": "site",
  "deviceId": "$(hostname -s | tr -c 'A-Za-z0-9_\n-' '-')",
  "mqtt": { "url": "mqtt://127.0.0.1:1883" },
  "cameras": [{ "id": "cam1", "url": "rtsp://192.0.2.10:554/stream1", "fps": 10 }],
  "engine": { "executionProviders": ["cpu"] },
  "watchdog": { "frameStallSec": 15, "budgetRestarts": 5, "budgetWindowSec": 60 },
  "http": { "port": 9464, "host": "127.0.0.1" }
}
JSON
  echo "example config written to /etc/mobilenet-edge/config.json: set the cameras and the MQTT broker"
fi
install -d -m 0750 -o mobilenet-edge -g mobilenet-edge /var/lib/mobilenet-edge

systemctl daemon-reload
systemctl enable mobilenet-edge.service
if [ "$start" = 1 ]; then
  "$node_bin" "$prefix/dist/daemon/main.js" --check-config /etc/mobilenet-edge/config.json || { echo "fix the config, then: systemctl start mobilenet-edge" >&2; exit 78; }
  systemctl restart mobilenet-edge.service
  systemctl --no-pager status mobilenet-edge.service || true
fi
echo "installed: journalctl -u mobilenet-edge -f; curl -s 127.0.0.1:9464/healthz"
