#!/usr/bin/env bash
# Build onnxruntime with CUDA + TensorRT and its Node binding ON the Jetson, against JetPack's
# CUDA / cuDNN / TensorRT, with trt-options.patch applied, and install the built onnxruntime-node
# package OUTSIDE node_modules (default /opt/mobilenet-edge-onnxruntime/onnxruntime-node), where
# `npm ci` cannot overwrite it. The engine worker loads it from there through
# MOBILENET_EDGE_ONNXRUNTIME, set for the service by a systemd drop-in this script writes.
#
#   deploy/jetson/build-onnxruntime.sh [--src DIR] [--jobs N] [--dest DIR] [--install-only] [--no-dropin]
#
# Supported target: JetPack 6.x (L4T R36) on Jetson Orin (sm_87): CUDA 12.x, cuDNN 9, TensorRT 10.x,
# CMake >= 3.28 (pip install cmake), onnxruntime = the version of node_modules/onnxruntime-node (1.30).
# NOT supported: JetPack 5 (CUDA 11.4 / TensorRT 8.5: too old for onnxruntime 1.30's TensorRT
# provider) and JetPack 4 (Nano, Xavier on L4T R32). The script refuses them.
# Takes hours on an Orin Nano and ~40 GB of disk; use a swap file on 8 GB boards.
# NOT RUN YET on a Jetson (written and reviewed on x64 without a GPU): see docs/ACCELERATORS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
app=$(cd "$here/../.." && pwd)
src="${ORT_SRC:-$HOME/onnxruntime}"
jobs=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
install_only=0
dest_root=/opt/mobilenet-edge-onnxruntime
dropin=1
while [ $# -gt 0 ]; do
  case "$1" in
    --src) src="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --dest) dest_root="$2"; shift 2 ;;
    --install-only) install_only=1; shift ;;
    --no-dropin) dropin=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done

die() { echo "build-onnxruntime: $*" >&2; exit 1; }
[ "$(uname -m)" = aarch64 ] || die "this is for a Jetson (aarch64); here is $(uname -m)"
[ -f /etc/nv_tegra_release ] || echo "warning: /etc/nv_tegra_release missing: not a JetPack system?" >&2
cuda_home=${CUDA_HOME:-/usr/local/cuda}
[ -x "$cuda_home/bin/nvcc" ] || die "no nvcc in $cuda_home (install the JetPack CUDA toolkit: apt install nvidia-jetpack)"
trt_inc=/usr/include/aarch64-linux-gnu
[ -f "$trt_inc/NvInferVersion.h" ] || die "no TensorRT headers in $trt_inc (apt install libnvinfer-dev libnvonnxparsers-dev)"
# The same reading of NvInferVersion.h as the daemon's cache keys (NV_TENSORRT_* or TensorRT 10's TRT_*_ENTERPRISE).
trt_version=$(node -e "import('$app/dist/pipelines/engines/onnxruntime/engine-cache.js').then((m) => console.log(m.detectTensorRtVersion(['$trt_inc'])))")
cuda_version=$("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
l4t=$(sed -n 's/^# R\([0-9]*\).*/\1/p' /etc/nv_tegra_release 2>/dev/null || true)
# The supported target, checked: JetPack 6 (L4T R36), CUDA 12, TensorRT 10, CMake >= 3.28.
[ -z "$l4t" ] || [ "$l4t" -ge 36 ] || die "L4T R$l4t (JetPack 5 or older) is not supported: onnxruntime $(node -p "require('$app/node_modules/onnxruntime-node/package.json').version") needs CUDA 12 / TensorRT 10 (JetPack 6 on Orin)"
[ "${cuda_version%%.*}" -ge 12 ] 2>/dev/null || die "CUDA $cuda_version found; CUDA 12 (JetPack 6) is required"
[ "${trt_version%%.*}" -ge 10 ] 2>/dev/null || die "TensorRT $trt_version found; TensorRT 10 (JetPack 6) is required"
cmake_version=$(cmake --version 2>/dev/null | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')
[ -n "$cmake_version" ] && [ "$(printf '%s\n3.28\n' "$cmake_version" | sort -V | head -n 1)" = 3.28 ] || die "CMake ${cmake_version:-missing}; >= 3.28 is required (pip install cmake)"

# The same onnxruntime version as the npm package the app uses, so the JS API matches the binding.
ort_version=$(node -p "require('$app/node_modules/onnxruntime-node/package.json').version")
# Orin = sm_87, Xavier = sm_72, Nano (JetPack 4) = sm_53
arch=${CUDA_ARCH:-$(case "$(tr -d '\0' </proc/device-tree/compatible 2>/dev/null)" in *tegra234*) echo 87 ;; *tegra194*) echo 72 ;; *) echo 53 ;; esac)}
echo "onnxruntime $ort_version, TensorRT $trt_version, CUDA $("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), sm_$arch"

if [ "$install_only" = 0 ]; then
  if [ ! -d "$src/.git" ]; then
    git clone --recursive --depth 1 --branch "v$ort_version" https://github.com/microsoft/onnxruntime "$src"
  fi
  cd "$src"
  if git apply --reverse --check "$here/trt-options.patch" 2>/dev/null; then
    echo "trt-options.patch already applied"
  else
    git apply --check "$here/trt-options.patch" || die "trt-options.patch does not apply to onnxruntime v$ort_version: review it against js/node/src/session_options_helper.cc"
    git apply "$here/trt-options.patch"
  fi
  ./build.sh --config Release --update --build --parallel "$jobs" --skip_tests \
    --build_shared_lib --build_nodejs \
    --use_cuda --cuda_home "$cuda_home" --cudnn_home /usr/lib/aarch64-linux-gnu \
    --use_tensorrt --tensorrt_home /usr/lib/aarch64-linux-gnu \
    --cmake_extra_defines "CMAKE_CUDA_ARCHITECTURES=$arch" onnxruntime_BUILD_UNIT_TESTS=OFF
fi

# Install: a whole onnxruntime-node package (JS, the binding, the provider libraries, onnxruntime-common)
# outside node_modules, so `npm ci` never overwrites it; the worker loads it via MOBILENET_EDGE_ONNXRUNTIME.
built=$(ls -d "$src"/js/node/bin/napi-v*/linux/arm64 2>/dev/null | head -n 1)
[ -n "$built" ] && [ -f "$built/onnxruntime_binding.node" ] || die "no built binding under $src/js/node/bin/napi-v*/linux/arm64"
napi=$(basename "$(dirname "$(dirname "$built")")")
pkg="$dest_root/onnxruntime-node"
rm -rf "$pkg.new" && mkdir -p "$pkg.new/node_modules"
cp -a "$app/node_modules/onnxruntime-node/package.json" "$app/node_modules/onnxruntime-node/dist" "$pkg.new/"
cp -a "$app/node_modules/onnxruntime-common" "$pkg.new/node_modules/"
dest="$pkg.new/bin/$napi/linux/arm64"
mkdir -p "$dest"
cp -v "$built"/* "$dest"/
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so libonnxruntime_providers_tensorrt.so; do
  f=$(find "$src/build/Linux/Release" -maxdepth 1 -name "$lib" | head -n 1)
  [ -n "$f" ] && cp -v "$f" "$dest"/
done
cat >"$dest/MOBILENET_EDGE_BUILD.txt" <<INFO
onnxruntime $ort_version built on $(hostname) $(date -u +%FT%TZ)
JetPack L4T R${l4t:-?}, CUDA $cuda_version, TensorRT $trt_version, CMake $cmake_version, CUDA arch sm_$arch, patch deploy/jetson/trt-options.patch
INFO
rm -rf "$pkg.old"; [ ! -e "$pkg" ] || mv "$pkg" "$pkg.old"
mv "$pkg.new" "$pkg" && rm -rf "$pkg.old"
echo "installed into $pkg"
if [ "$dropin" = 1 ] && [ -d /etc/systemd/system ]; then
  mkdir -p /etc/systemd/system/mobilenet-edge.service.d
  printf '[Service]\nEnvironment=MOBILENET_EDGE_ONNXRUNTIME=%s\n' "$pkg" >/etc/systemd/system/mobilenet-edge.service.d/onnxruntime.conf
  systemctl daemon-reload 2>/dev/null || true
  echo "systemd drop-in: /etc/systemd/system/mobilenet-edge.service.d/onnxruntime.conf"
fi
echo "for a shell: export MOBILENET_EDGE_ONNXRUNTIME=$pkg"
echo "check it: MOBILENET_EDGE_ONNXRUNTIME=$pkg npm run device-check -- --config /etc/mobilenet-edge/config.json --expect tensorrt"
