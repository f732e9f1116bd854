// Without TF.js, so the worker protocol and the plugin's public types can name it.

/**
 * What WebGPU adapter a worker sees, and whether it is a real GPU: a software one (SwiftShader,
 * llvmpipe, lavapipe: Chromium's fallback where no GPU can be used) is measured 20–90× slower
 * than wasm here, so the automatic backend choice passes it over and the panel says so.
 */
export interface GpuAdapterSummary {
  /** A software rasteriser or the browser's fallback adapter, not a GPU. */
  readonly software: boolean;
  /** vendor, architecture, device or description as the browser reports them (may be empty: privacy). */
  readonly name: string;
}

/** The fields of GPUAdapterInfo read here (older Chromiums put isFallbackAdapter on the adapter). */
export interface GpuAdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software/i;

export function summariseGpuAdapter(
  info: GpuAdapterInfoLike | undefined,
  isFallbackAdapter?: boolean,
): GpuAdapterSummary {
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s);
  const name = [...new Set(parts)].join(' ');
  const software = (info?.isFallbackAdapter ?? isFallbackAdapter ?? false) || SOFTWARE_RENDERER.test(name);
  return { software, name };
}

/** "software fallback: swiftshader …" or "GPU: nvidia ampere", for the panel's backend line. */
export function gpuAdapterLabel(gpu: GpuAdapterSummary): string {
  const name = gpu.name || 'unnamed adapter';
  return gpu.software ? `software fallback: ${name}` : `GPU: ${name}`;
}

/**
 * What the panel's backend line adds after the workers' backends: " (GPU: nvidia hopper)" where
 * they run on it, " (software fallback: google swiftshader, not used)" where the automatic
 * choice passed a software adapter over for wasm (it is slower than wasm), "" where no worker saw one.
 */
export function backendGpuNote(
  workers: readonly { readonly backend?: string; readonly gpu?: GpuAdapterSummary }[],
): string {
  const gpu = workers.find((w) => w.gpu)?.gpu;
  if (!gpu) return '';
  const onGpu = workers.some((w) => w.backend === 'webgpu');
  return ` (${gpuAdapterLabel(gpu)}${onGpu ? '' : ', not used'})`;
}

interface GpuLike {
  requestAdapter(): Promise<{ readonly info?: GpuAdapterInfoLike; readonly isFallbackAdapter?: boolean } | null>;
}

/** This thread's default WebGPU adapter, summarised; undefined where there is none. */
export async function describeGpuAdapter(): Promise<GpuAdapterSummary | undefined> {
  try {
    const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
    const adapter = await gpu?.requestAdapter();
    return adapter ? summariseGpuAdapter(adapter.info, adapter.isFallbackAdapter) : undefined;
  } catch {
    return undefined;
  }
}
