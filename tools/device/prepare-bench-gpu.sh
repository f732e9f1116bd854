#!/usr/bin/env bash
# Makes .device/ (git-ignored), what tools/device/bench-gpu.sh needs on a bare Linux x86-64 machine
# with a GPU (the `device` tool's): that machine has no Node, npm, Chromium or node_modules, and the
# tree that travels there is capped at 64 MiB, so Chromium (350 MB and its libraries) cannot go;
# this carries Node (this machine's, it links only glibc), Dawn's Node binding (the webgpu npm
# package's dawn.node, Linux x64 only) and the benchmark as one bundled file: 33 MiB.
# Run here, from anywhere in the repository:  bash tools/device/prepare-bench-gpu.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
WEBGPU_VERSION=0.6.2
D=.device
rm -rf "$D" && mkdir -p "$D/deb"
# The benchmark with TF.js, its webgpu backend and core/ in one file; esbuild and playwright-core
# are loaded only for Chromium, which --dawn does not use.
npx esbuild tools/bench-gpu.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --external:esbuild --external:playwright-core --outfile="$D/bench-gpu.mjs" \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
(cd "$D" && npm pack --silent "webgpu@$WEBGPU_VERSION" > /dev/null &&
  tar xzf "webgpu-$WEBGPU_VERSION.tgz" package/dist/linux-x64/dawn.node &&
  xz -T1 -c package/dist/linux-x64/dawn.node > dawn.node.xz && rm -rf package "webgpu-$WEBGPU_VERSION.tgz")
xz -T1 -c "$(command -v node)" > "$D/node.xz"
# The Vulkan loader, for a machine without one (its README: dpkg -x these into /).
(cd "$D/deb" && apt-get download libvulkan1 > /dev/null)
du -sh "$D"
