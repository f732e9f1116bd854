/**
 * The WGSL compute shaders of the fused MSD forward (webgpu-msd.ts). One storage buffer holds the
 * normalised input's planes and then every feature map of the extractor being run, unpadded
 * (H × W floats each, row-major): a layer reads all earlier planes and writes its own, as
 * msd_pytorch keeps one buffer. Mirror padding is index arithmetic (the loop reference's periodic
 * reflection, reflect-index.ts), worked out once per pixel for the nine taps and shared by every
 * channel, so no padded copy exists and any dilation works on any size, even one larger than the
 * image (the index folds more than once).
 */

/** Invocations per workgroup along x and y: one pixel each; 128 is within every adapter's limits. */
export const WORKGROUP_X = 16;
export const WORKGROUP_Y = 8;

const SIZE = /* wgsl */ `
struct Size { width: u32, height: u32, plane: u32, pad: u32 }
@group(0) @binding(0) var<uniform> size: Size;
`;

const REFLECT = /* wgsl */ `
fn reflectIndex(i: i32, n: i32) -> i32 {
  if (n == 1) { return 0; }
  let period = 2 * (n - 1);
  var m = i % period;
  if (m < 0) { m += period; }
  return select(period - m, m, m < n);
}
`;

/**
 * RGB bytes (packed four to a u32) → the three normalised input planes, (v − mean) / std as the
 * reference computes it.
 */
export const NORMALISE_WGSL = /* wgsl */ `${SIZE}
struct Norm { mean: vec4<f32>, deviation: vec4<f32> }
@group(0) @binding(1) var<storage, read_write> maps: array<f32>;
@group(0) @binding(2) var<storage, read> rgb: array<u32>;
@group(0) @binding(3) var<uniform> norm: Norm;

fn byteAt(i: u32) -> f32 {
  return f32((rgb[i >> 2u] >> ((i & 3u) * 8u)) & 255u);
}

@compute @workgroup_size(${WORKGROUP_X}, ${WORKGROUP_Y})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= size.width || id.y >= size.height) { return; }
  let p = id.y * size.width + id.x;
  for (var c = 0u; c < 3u; c++) {
    maps[c * size.plane + p] = (byteAt(3u * p + c) - norm.mean[c]) / norm.deviation[c];
  }
}
`;

/**
 * One width-1 layer: ReLU(bias + Σ_c Σ_taps k · plane_c at the tap's reflected position), written
 * as plane `inChannels` (the next free one). The invocation that makes a pixel's map value also
 * adds the head's share of it to that pixel's logit, while the value is in a register: the head
 * needs no second pass over the 25–100 maps, and one buffer as deep as the deepest extractor
 * serves them all, one after the other (as the SIMD engine does). `flags`: FIRST_LAYER (the
 * first layer of the first extractor) starts the logit instead of adding to it, so nothing clears
 * it; LAST_LAYER (the last extractor's last) also writes σ(b + logit), so the head needs no
 * dispatch of its own. The kernel is read in weights.ts's order, [row][column][channel].
 */
export const FIRST_LAYER = 1;
export const LAST_LAYER = 2;

export const LAYER_WGSL = /* wgsl */ `${SIZE}
struct Layer { inChannels: u32, dilation: u32, kernelStart: u32, headIndex: u32, bias: f32, flags: u32 }
@group(0) @binding(1) var<storage, read_write> maps: array<f32>;
@group(0) @binding(2) var<storage, read> kernels: array<f32>;
@group(0) @binding(3) var<storage, read> head: array<f32>;
@group(0) @binding(4) var<storage, read_write> logit: array<f32>;
@group(0) @binding(5) var<storage, read_write> probability: array<f32>;
@group(1) @binding(0) var<uniform> layer: Layer;
${REFLECT}
@compute @workgroup_size(${WORKGROUP_X}, ${WORKGROUP_Y})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= size.width || id.y >= size.height) { return; }
  let w = i32(size.width);
  let h = i32(size.height);
  let d = i32(layer.dilation);
  let x = i32(id.x);
  let y = i32(id.y);
  let r0 = u32(reflectIndex(y - d, h) * w);
  let r1 = u32(y * w);
  let r2 = u32(reflectIndex(y + d, h) * w);
  let c0 = u32(reflectIndex(x - d, w));
  let c1 = u32(x);
  let c2 = u32(reflectIndex(x + d, w));
  let n = layer.inChannels;
  let k = layer.kernelStart;
  var sum = layer.bias;
  for (var c = 0u; c < n; c++) {
    let b = c * size.plane;
    sum += kernels[k + c] * maps[b + r0 + c0]
      + kernels[k + n + c] * maps[b + r0 + c1]
      + kernels[k + 2u * n + c] * maps[b + r0 + c2]
      + kernels[k + 3u * n + c] * maps[b + r1 + c0]
      + kernels[k + 4u * n + c] * maps[b + r1 + c1]
      + kernels[k + 5u * n + c] * maps[b + r1 + c2]
      + kernels[k + 6u * n + c] * maps[b + r2 + c0]
      + kernels[k + 7u * n + c] * maps[b + r2 + c1]
      + kernels[k + 8u * n + c] * maps[b + r2 + c2];
  }
  let v = max(sum, 0.0);
  let p = id.y * size.width + id.x;
  maps[n * size.plane + p] = v;
  var z = head[layer.headIndex] * v;
  if ((layer.flags & ${FIRST_LAYER}u) == 0u) { z += logit[p]; }
  logit[p] = z;
  // b is the head buffer's entry at size.pad (its last, after W).
  if ((layer.flags & ${LAST_LAYER}u) != 0u) { probability[p] = 1.0 / (1.0 + exp(-(head[size.pad] + z))); }
}
`;

/**
 * One extractor's maps at some pixels into pixel-major rows: out[k · stride + column + m] =
 * map_m(pixels[k]) — the support matrix's layout, so only the labelled pixels' features are read
 * back, never whole planes.
 */
export const GATHER_WGSL = /* wgsl */ `${SIZE}
struct Gather { count: u32, maps: u32, column: u32, stride: u32, first: u32 }
@group(0) @binding(1) var<storage, read> maps: array<f32>;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read_write> rows: array<f32>;
@group(1) @binding(0) var<uniform> gather: Gather;

@compute @workgroup_size(${WORKGROUP_X * WORKGROUP_Y})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= gather.count || id.y >= gather.maps) { return; }
  rows[id.x * gather.stride + gather.column + id.y] = maps[(gather.first + id.y) * size.plane + pixels[id.x]];
}
`;
