#!/usr/bin/env bash
# Build onnxruntime with CUDA + TensorRT and its Node binding ON the Jetson, against JetPack's
# CUDA / cuDNN / TensorRT, with trt-options.patch applied, and install the binding into this
# package's node_modules/onnxruntime-node so the engine worker picks it up.
#
#   deploy/jetson/build-onnxruntime.sh [--src DIR] [--jobs N] [--install-only]
#
# Takes hours on an Orin Nano / Xavier NX and ~40 GB of disk; use a swap file on 8 GB boards.
# NOT RUN YET on a Jetson (written and reviewed on x64 without a GPU): see docs/ACCELERATORS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
app=$(cd "$here/../.." && pwd)
src="${ORT_SRC:-$HOME/onnxruntime}"
jobs=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
install_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --src) src="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --install-only) install_only=1; shift ;;
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
trt_version=$(awk '/#define NV_TENSORRT_(MAJOR|MINOR|PATCH) /{v=v (v?".":"") $3} END{print v}' "$trt_inc/NvInferVersion.h")

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

# Install: the binding and the libraries it loads, into the npm package's arm64 folder.
built=$(ls -d "$src"/js/node/bin/napi-v*/linux/arm64 2>/dev/null | head -n 1)
[ -n "$built" ] && [ -f "$built/onnxruntime_binding.node" ] || die "no built binding under $src/js/node/bin/napi-v*/linux/arm64"
napi=$(basename "$(dirname "$(dirname "$built")")")
dest="$app/node_modules/onnxruntime-node/bin/$napi/linux/arm64"
mkdir -p "$dest"
cp -v "$built"/* "$dest"/
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so libonnxruntime_providers_tensorrt.so; do
  f=$(find "$src/build/Linux/Release" -maxdepth 1 -name "$lib" | head -n 1)
  [ -n "$f" ] && cp -v "$f" "$dest"/
done
cat >"$dest/MOBILENET_EDGE_BUILD.txt" <<INFO
onnxruntime $ort_version built on $(hostname) $(date -u +%FT%TZ)
TensorRT $trt_version, CUDA arch sm_$arch, patch deploy/jetson/trt-options.patch
INFO
echo "installed into $dest"
echo "check it: npm run device-check -- --config /etc/mobilenet-edge/config.json --expect tensorrt"
