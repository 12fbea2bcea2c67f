#!/usr/bin/env bash
# Installs mobilenet-edge as a systemd service on Debian, JetPack (Ubuntu) or Mendel. Run as root
# from an unpacked package (npm pack / git checkout with `npm ci` done, so dist/ and node_modules/ exist).
#
#   deploy/install.sh [--prefix /opt/mobilenet-edge] [--no-start] [--no-prepare] [--root DIR [--prepare]]
#
# - copies the package to PREFIX (default /opt/mobilenet-edge)
# - creates the user mobilenet-edge (sysusers.d file; useradd where systemd-sysusers is missing)
# - installs /etc/systemd/system/mobilenet-edge.service (PREFIX substituted)
# - puts an example config in /etc/mobilenet-edge/config.json if there is none (edit it: cameras, MQTT)
# - state lives in /var/lib/mobilenet-edge (StateDirectory=: the MQTT outbox, TensorRT caches)
# - builds and caches the engines of every model as the service user (mobilenet-edge --prepare: a first
#   TensorRT build takes minutes; better here than in the service's first start) unless --no-prepare
# - enables the service; starts it unless --no-start
# --root DIR installs into DIR as a system image (tests, image builds): every path above under DIR,
#   the user created with systemd-sysusers --root, the service enabled by its symlink, nothing started,
#   --prepare only when asked. With --prefix equal to this package's own folder nothing is copied (the
#   package is already where it runs).
# Coral: run deploy/coral/install.sh too. Jetson: see docs/ACCELERATORS.md for the onnxruntime build.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/opt/mobilenet-edge
start=1
prepare=
root=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    --prepare) prepare=1; shift ;;
    --no-prepare) prepare=0; shift ;;
    --root) root=$(cd "$2" && pwd); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
if [ -n "$root" ]; then start=0; prepare=${prepare:-0}; else prepare=${prepare:-1}; fi
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v node >/dev/null || { echo "node (>= 20) is required: install nodejs first" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "node >= 20 required, found $(node --version)" >&2; exit 1; }
[ -f "$src/dist/daemon/main.js" ] || { echo "$src/dist/daemon/main.js missing: run npm ci first" >&2; exit 1; }
command -v ffmpeg >/dev/null || echo "note: no ffmpeg on PATH; the bundled @ffmpeg-installer one will be used (apt-get install ffmpeg is better)"

# 1. The package (pkg: where its files are now; prefix: where the service will find them).
pkg=$src
if [ "$src" != "$prefix" ]; then
  pkg=$root$prefix
  mkdir -p "$root$prefix"
  for p in dist models pipelines systemd deploy docs node_modules package.json README.md; do
    [ -e "$src/$p" ] && cp -a "$src/$p" "$root$prefix/"
  done
  chown -R root:root "$root$prefix"
  chmod -R go-w "$root$prefix"
fi

# 2. The user.
install -D -m 0644 "$src/systemd/mobilenet-edge.sysusers" "$root/usr/lib/sysusers.d/mobilenet-edge.conf"
if [ -n "$root" ]; then
  mkdir -p "$root/etc"
  systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/mobilenet-edge.conf"
elif command -v systemd-sysusers >/dev/null; then
  systemd-sysusers /usr/lib/sysusers.d/mobilenet-edge.conf
elif ! id mobilenet-edge >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/mobilenet-edge --shell /usr/sbin/nologin --user-group mobilenet-edge
fi
# (the unit also sets SupplementaryGroups=video plugdev; apex is for Coral PCIe)
[ -n "$root" ] || for g in video plugdev apex; do getent group "$g" >/dev/null && usermod -aG "$g" mobilenet-edge; done
uid=$(awk -F: '$1 == "mobilenet-edge" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "mobilenet-edge" { print $3 }' "$root/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || { echo "the user mobilenet-edge was not created in $root/etc/passwd" >&2; exit 1; }

# 3. Unit, config, state.
node_bin=$(command -v node)
mkdir -p "$root/etc/systemd/system"
sed -e "s#/opt/mobilenet-edge#$prefix#g" -e "s#/usr/bin/node#$node_bin#g" "$src/systemd/mobilenet-edge.service" >"$root/etc/systemd/system/mobilenet-edge.service"
install -d -m 0755 "$root/etc/mobilenet-edge"
if [ ! -e "$root/etc/mobilenet-edge/config.json" ]; then
  cat >"$root/etc/mobilenet-edge/config.json" <<JSON
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
  echo "example config written to $root/etc/mobilenet-edge/config.json: set the cameras and the MQTT broker"
fi
install -d -m 0750 -o "$uid" -g "$gid" "$root/var/lib/mobilenet-edge"
"$node_bin" "$pkg/dist/daemon/main.js" --check-config "$root/etc/mobilenet-edge/config.json" || { echo "fix the config ($root/etc/mobilenet-edge/config.json), then start the service" >&2; exit 78; }

# 4. Engines built before traffic, as the service user (the caches must be its own files).
if [ "$prepare" = 1 ]; then
  echo "building the engines of every model (mobilenet-edge --prepare; a first TensorRT build takes minutes)"
  as_user() { if [ -n "$root" ]; then setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; else runuser -u mobilenet-edge -- "$@"; fi; }
  ( cd / && STATE_DIRECTORY="$root/var/lib/mobilenet-edge" as_user "$node_bin" "$pkg/dist/daemon/main.js" --prepare --config "$root/etc/mobilenet-edge/config.json" ) \
    || echo "warning: --prepare failed (see above); the service will build its engines at its first start" >&2
fi

if [ -n "$root" ]; then
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf ../mobilenet-edge.service "$root/etc/systemd/system/multi-user.target.wants/mobilenet-edge.service"
  echo "installed into $root (not started)"
  exit 0
fi
systemctl daemon-reload
systemctl enable mobilenet-edge.service
if [ "$start" = 1 ]; then
  systemctl restart mobilenet-edge.service
  systemctl --no-pager status mobilenet-edge.service || true
fi
echo "installed: journalctl -u mobilenet-edge -f; curl -s 127.0.0.1:9464/healthz"
