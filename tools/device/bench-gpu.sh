#!/usr/bin/env bash
# `npm run bench:gpu` on a machine with a GPU and none of this project's tools: Node on Dawn over
# the GPU's Vulkan driver, from the repository root with .device/ beside it (made here by
# tools/device/prepare-bench-gpu.sh and carried). Writes bench-gpu.txt (the figures), bench-gpu.log
# (progress and Dawn's messages) and machine.txt to $OUT (else .device/out). Options go to bench:gpu
# (defaults on a real GPU: 1024² tiles, 5 runs, 5 patches, the full-HD view). Device tool:
#   run  command: bash tools/device/bench-gpu.sh   carry: [".device"]   timeout_s: 480
set -uo pipefail
cd "$(dirname "$0")/../.."
D=.device
out=${OUT:-$D/out}
mkdir -p "$out"
[ -f "$D/bench-gpu.mjs" ] || { echo "no $D/bench-gpu.mjs: run tools/device/prepare-bench-gpu.sh first" >&2; exit 2; }
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in "$D"/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
[ -x "$D/node" ] || { xz -dc "$D/node.xz" > "$D/node" && chmod +x "$D/node"; }
[ -f "$D/dawn.node" ] || xz -dc "$D/dawn.node.xz" > "$D/dawn.node"
# The NVIDIA driver's Vulkan ICD where the loader would not look (a container mounts it apart).
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  fi
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
{ uname -a; nvidia-smi -L 2>&1; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; } > "$out/machine.txt"
"$D/node" "$D/bench-gpu.mjs" --dawn "$D/dawn.node" "$@" 2> "$out/bench-gpu.log" | tee "$out/bench-gpu.txt"
status=${PIPESTATUS[0]}
tail -5 "$out/bench-gpu.log" >&2
exit "$status"
