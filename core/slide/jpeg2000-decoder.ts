/**
 * geotiff decoder for Aperio JPEG 2000 tiles (TIFF compression 33003 and 33005), backed by
 * the OpenJPEG WebAssembly build in @cornerstonejs/codec-openjpeg.
 *
 * Loading the codec: the package ships a decode-only Emscripten build in two flavours,
 * `openjpegwasm_decode.js` + `.wasm` and `openjpegjs_decode.js` (wasm2js, pure JS, no .wasm).
 * The pure-JS one would need no asset at all, but it decodes a 256×256 tile ~14× slower
 * (≈125 ms against 6–9 ms, Node and Chromium alike), so we use the .wasm build and hand its bytes to Emscripten
 * ourselves through `wasmBinary`. That keeps Emscripten's own file lookup (`require('fs')`
 * plus `__dirname` in Node, `scriptDirectory` guessing in browsers and workers, which a bundle
 * breaks) out of the picture: Node reads the file from the installed package; a page or worker
 * fetches `openjpegwasm_decode.wasm` from the URL it is given (`setJpeg2000WasmUrl`: the plugin
 * passes the one its package entry names, which the host's bundler emitted, to the main thread and
 * to every worker), else from beside the script that holds this code.
 */
import { BaseDecoder } from 'geotiff';
import { fetchAsset } from '../assets/asset-response.js';
// The codec package ships no type declarations; OpenJpegFactory below describes it. ts-ignore rather
// than ts-expect-error, so that adding declarations later does not break the build.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore
import openjpegFactoryUntyped from '@cornerstonejs/codec-openjpeg/decodewasmjs';

type BaseDecoderParameters = ConstructorParameters<typeof BaseDecoder>[0];

/** What jpeg2000.ts hands to the constructor: geotiff's usual parameters plus what picks the colour handling. */
export interface Jpeg2000DecoderParameters extends BaseDecoderParameters {
  /** TIFF Compression: 33003 means the codestream holds YCbCr, 33005 RGB. */
  compression?: number;
  /** TIFF PhotometricInterpretation, so that output samples are in the space the tag names. */
  photometricInterpretation?: number;
}

const APERIO_JP2K_YCBCR = 33003;
const PHOTOMETRIC_YCBCR = 6;
/** OPJ_CLRSPC_SRGB: the wrapper reports it once it has turned subsampled sYCC into RGB itself. */
const OPJ_CLRSPC_SRGB = 1;

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8ClampedArray;
  getFrameInfo(): FrameInfo;
  getColorSpace(): number;
  delete(): void;
}

interface OpenJpegModule {
  J2KDecoder: new () => J2KDecoder;
}

type OpenJpegFactory = (moduleArg: {
  wasmBinary: ArrayBuffer | Uint8Array;
  print: (line: string) => void;
  printErr: (line: string) => void;
}) => Promise<OpenJpegModule>;

const openjpegFactory = openjpegFactoryUntyped as OpenJpegFactory;

const WASM_FILE = 'openjpegwasm_decode.wasm';

let configuredWasmUrl: string | URL | undefined;
let codecPromise: Promise<OpenJpegModule> | null = null;
/** OpenJPEG reports problems only by printf; decoding is synchronous, so one shared sink is safe. */
let codecMessages: string[] = [];

/**
 * Where to read the wasm from instead of the default. Only matters before the codec has
 * loaded; once instantiated, the module stays.
 */
export function setJpeg2000WasmUrl(url: string | URL | undefined): void {
  configuredWasmUrl = url;
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/**
 * Node built-ins are imported through a variable so that bundlers targeting browsers neither
 * try to resolve nor warn about them; this branch only ever runs under Node.
 */
async function importNodeBuiltin<T>(name: string): Promise<T> {
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ name)) as T;
}

/**
 * Rollup's IIFE output rewrites import.meta.url into an expression over `document`, which
 * throws in a classic worker; there the worker script's own location is the right base.
 */
function moduleUrl(): string {
  try {
    return import.meta.url;
  } catch {
    const href = globalThis.location?.href;
    if (href) return href;
    throw new Error('cannot tell where the JPEG 2000 decoder was loaded from; pass registerJpeg2000({ wasmUrl })');
  }
}

async function loadWasmBytes(): Promise<ArrayBuffer | Uint8Array> {
  if (isNode()) {
    const { readFile } = await importNodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
    if (configuredWasmUrl !== undefined) {
      const url = new URL(String(configuredWasmUrl), moduleUrl());
      if (url.protocol === 'file:') return readFile(url);
      return fetchWasm(url);
    }
    const { createRequire } = await importNodeBuiltin<typeof import('node:module')>('node:module');
    const path = createRequire(moduleUrl()).resolve('@cornerstonejs/codec-openjpeg/decodewasm');
    return readFile(path);
  }
  const url =
    configuredWasmUrl !== undefined
      ? new URL(String(configuredWasmUrl), globalThis.location?.href ?? moduleUrl())
      : new URL(WASM_FILE, moduleUrl());
  return fetchWasm(url);
}

/** Checked (asset-response.ts): a missing file answered by an index.html is named as such. */
function fetchWasm(url: URL): Promise<ArrayBuffer> {
  return fetchAsset(url, 'wasm', undefined);
}

function collectMessage(line: string): void {
  // [INFO] lines are OpenJPEG chatter on every tile; only warnings and errors explain a failure.
  if (!line.startsWith('[INFO]')) codecMessages.push(line.replace(/^\[ERROR\]\s*/, '').trim());
}

function loadCodec(): Promise<OpenJpegModule> {
  if (!codecPromise) {
    codecPromise = (async () => {
      let wasmBinary: ArrayBuffer | Uint8Array;
      try {
        wasmBinary = await loadWasmBytes();
      } catch (error) {
        throw new Error(`Could not load the JPEG 2000 (OpenJPEG) WebAssembly file ${WASM_FILE}: ${describe(error)}`, {
          cause: error,
        });
      }
      try {
        return await openjpegFactory({ wasmBinary, print: collectMessage, printErr: collectMessage });
      } catch (error) {
        throw new Error(`Could not start the JPEG 2000 (OpenJPEG) WebAssembly module: ${describe(error)}`, {
          cause: error,
        });
      }
    })();
    // A failed load (network hiccup, wrong URL) must not poison every later tile.
    codecPromise.catch(() => {
      codecPromise = null;
    });
  }
  return codecPromise;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface CodestreamHeader {
  width: number;
  height: number;
  components: { depth: number; signed: boolean; dx: number; dy: number }[];
  /** COD's multiple component transform flag: when set, OpenJPEG already returns RGB. */
  mct: boolean;
}

const J2K_SOC = 0xff4f;
const J2K_SIZ = 0xff51;
const J2K_COD = 0xff52;
const J2K_SOT = 0xff90;

/** Offset of the codestream: Aperio stores it raw, but a JP2 wrapper costs little to accept. */
function findCodestream(bytes: Uint8Array): number {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0x4f) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isJp2 = bytes.length >= 12 && view.getUint32(0) === 12 && view.getUint32(4) === 0x6a502020;
  if (isJp2) {
    let offset = 0;
    while (offset + 8 <= bytes.length) {
      let length = view.getUint32(offset);
      const type = view.getUint32(offset + 4);
      let headerLength = 8;
      if (length === 1 && offset + 16 <= bytes.length) {
        length = Number(view.getBigUint64(offset + 8));
        headerLength = 16;
      } else if (length === 0) {
        length = bytes.length - offset;
      }
      if (type === 0x6a703263 /* 'jp2c' */) return offset + headerLength;
      if (length < headerLength) break;
      offset += length;
    }
  }
  throw new Error('Not a JPEG 2000 codestream (no SOC marker and no JP2 codestream box)');
}

function readCodestreamHeader(bytes: Uint8Array): CodestreamHeader {
  const start = findCodestream(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (start + 4 > bytes.length || view.getUint16(start) !== J2K_SOC || view.getUint16(start + 2) !== J2K_SIZ) {
    throw new Error('JPEG 2000 codestream does not start with SOC followed by SIZ');
  }
  const siz = start + 4;
  if (siz + 38 > bytes.length) throw new Error('JPEG 2000 SIZ marker segment is truncated');
  const sizLength = view.getUint16(siz);
  const xsiz = view.getUint32(siz + 4);
  const ysiz = view.getUint32(siz + 8);
  const xosiz = view.getUint32(siz + 12);
  const yosiz = view.getUint32(siz + 16);
  const count = view.getUint16(siz + 36);
  if (sizLength !== 38 + 3 * count || siz + sizLength > bytes.length) {
    throw new Error('JPEG 2000 SIZ marker segment is malformed or truncated');
  }
  // The wrapper sizes its output from the reference grid's far corner, so an origin other
  // than 0,0 would make it read past the component planes.
  if (xosiz !== 0 || yosiz !== 0) throw new Error(`JPEG 2000 image offset ${xosiz},${yosiz} is not supported`);
  const components = [];
  for (let c = 0; c < count; c++) {
    const ssiz = view.getUint8(siz + 38 + 3 * c);
    components.push({
      depth: (ssiz & 0x7f) + 1,
      signed: (ssiz & 0x80) !== 0,
      dx: view.getUint8(siz + 39 + 3 * c),
      dy: view.getUint8(siz + 40 + 3 * c),
    });
  }
  let mct = false;
  let offset = siz + sizLength;
  while (offset + 4 <= bytes.length) {
    const marker = view.getUint16(offset);
    if (marker === J2K_SOT || (marker & 0xff00) !== 0xff00) break;
    const length = view.getUint16(offset + 2);
    if (marker === J2K_COD && offset + 9 <= bytes.length) mct = view.getUint8(offset + 8) !== 0;
    offset += 2 + length;
  }
  return { width: xsiz, height: ysiz, components, mct };
}

function checkSupported(header: CodestreamHeader, expectedComponents: number): void {
  const { components } = header;
  if (components.length !== expectedComponents) {
    throw new Error(`JPEG 2000 codestream has ${components.length} components, the TIFF expects ${expectedComponents}`);
  }
  if (components.length !== 1 && components.length !== 3) {
    throw new Error(`JPEG 2000 codestreams with ${components.length} components are not supported`);
  }
  for (const component of components) {
    if (component.depth !== 8 || component.signed) {
      throw new Error(
        `JPEG 2000 ${component.signed ? 'signed ' : ''}${component.depth}-bit samples are not supported ` +
          `(only unsigned 8-bit)`,
      );
    }
  }
  const [first, second, third] = components;
  const plain = components.every((c) => c.dx === 1 && c.dy === 1);
  // The wrapper turns 4:2:2 and 4:2:0 chroma into RGB itself; any other layout it would
  // copy out as if the planes were full size, reading past their end.
  const chroma =
    components.length === 3 &&
    first.dx === 1 &&
    first.dy === 1 &&
    second.dx === 2 &&
    third.dx === 2 &&
    second.dy === third.dy &&
    (second.dy === 1 || second.dy === 2);
  if (!plain && !chroma) {
    const layout = components.map((c) => `${c.dx}x${c.dy}`).join(', ');
    throw new Error(`JPEG 2000 component subsampling ${layout} is not supported`);
  }
}

interface DecodedFrame {
  pixels: Uint8ClampedArray;
  width: number;
  height: number;
  components: number;
  colorSpace: number;
}

function runCodec(codec: OpenJpegModule, bytes: Uint8Array): DecodedFrame {
  codecMessages = [];
  let decoder: J2KDecoder | undefined;
  try {
    // A fresh decoder per tile: the wrapper returns early on errors without clearing its
    // output, so a reused one would hand back the previous tile's pixels as if all went well.
    decoder = new codec.J2KDecoder();
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const frame = decoder.getFrameInfo();
    const pixels = decoder.getDecodedBuffer();
    if (pixels.length === 0 || pixels.length !== frame.width * frame.height * frame.componentCount) {
      const detail = codecMessages.length > 0 ? `: ${codecMessages.join('; ')}` : '';
      throw new Error(`JPEG 2000 decoding failed${detail}`);
    }
    return {
      pixels,
      width: frame.width,
      height: frame.height,
      components: frame.componentCount,
      colorSpace: decoder.getColorSpace(),
    };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('JPEG 2000')) throw error;
    // A trap or an uncaught C++ exception can leave the wasm heap inconsistent; start afresh.
    codecPromise = null;
    decoder = undefined;
    throw new Error(`JPEG 2000 decoding failed, OpenJPEG aborted: ${describe(error)}`, { cause: error });
  } finally {
    try {
      decoder?.delete();
    } catch {
      codecPromise = null;
    }
    codecMessages = [];
  }
}

/** JPEG/JFIF full-range BT.601, the transform OpenSlide applies to 33003 and geotiff's fromYCbCr inverts. */
function yCbCrToRgbInPlace(samples: Uint8ClampedArray): void {
  for (let i = 0; i < samples.length; i += 3) {
    const y = samples[i];
    const cb = samples[i + 1] - 128;
    const cr = samples[i + 2] - 128;
    samples[i] = y + 1.402 * cr;
    samples[i + 1] = y - 0.344136 * cb - 0.714136 * cr;
    samples[i + 2] = y + 1.772 * cb;
  }
}

function rgbToYCbCrInPlace(samples: Uint8ClampedArray): void {
  for (let i = 0; i < samples.length; i += 3) {
    const r = samples[i];
    const g = samples[i + 1];
    const b = samples[i + 2];
    samples[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    samples[i + 1] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    samples[i + 2] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
}

function bitsOf(bitsPerSample: number | ArrayLike<number>): number[] {
  return typeof bitsPerSample === 'number' ? [bitsPerSample] : Array.from(bitsPerSample);
}

export default class Jpeg2000Decoder extends BaseDecoder {
  declare parameters: Jpeg2000DecoderParameters;

  constructor(parameters: Jpeg2000DecoderParameters) {
    super(parameters);
  }

  async decodeBlock(buffer: ArrayBuffer): Promise<ArrayBuffer> {
    const { tileWidth, tileHeight, planarConfiguration, bitsPerSample, compression, photometricInterpretation } =
      this.parameters;
    const samples = planarConfiguration === 2 ? 1 : (this.parameters.samplesPerPixel ?? 1);
    if (bitsOf(bitsPerSample).some((bits) => bits !== 8)) {
      throw new Error(
        `JPEG 2000 tiles with BitsPerSample ${bitsOf(bitsPerSample).join(',')} are not supported (only 8)`,
      );
    }
    const bytes = new Uint8Array(buffer);
    let header: CodestreamHeader;
    try {
      header = readCodestreamHeader(bytes);
    } catch (error) {
      if (error instanceof RangeError) throw new Error('JPEG 2000 codestream header is truncated', { cause: error });
      throw error;
    }
    checkSupported(header, samples);

    const frame = runCodec(await loadCodec(), bytes);
    if (frame.components !== samples || frame.width !== header.width || frame.height !== header.height) {
      throw new Error(
        `JPEG 2000 decoder returned ${frame.width}x${frame.height}x${frame.components}, ` +
          `the header says ${header.width}x${header.height}x${samples}`,
      );
    }

    let pixels = frame.pixels;
    if (samples === 3) {
      // OpenJPEG hands back RGB when the codestream's MCT undid the colour transform, or when
      // the wrapper converted subsampled chroma; otherwise the planes are what was encoded.
      const codecGaveRgb = header.mct || frame.colorSpace === OPJ_CLRSPC_SRGB;
      const storedYCbCr = compression === APERIO_JP2K_YCBCR && !codecGaveRgb;
      // geotiff's readRGB converts YCbCr-tagged images itself; emitting RGB there would
      // have it converted twice. Aperio tags both codes as RGB, so this is the usual path.
      const wantYCbCr = photometricInterpretation === PHOTOMETRIC_YCBCR;
      if (storedYCbCr && !wantYCbCr) yCbCrToRgbInPlace(pixels);
      else if (!storedYCbCr && wantYCbCr) rgbToYCbCrInPlace(pixels);
    }

    // geotiff indexes every tile as tileWidth × tileHeight, so a smaller (edge) codestream is
    // padded and a larger one cropped.
    if (frame.width === tileWidth && frame.height === tileHeight) {
      if (pixels.byteOffset !== 0 || pixels.byteLength !== pixels.buffer.byteLength) pixels = pixels.slice();
      return pixels.buffer as ArrayBuffer;
    }
    const out = new Uint8Array(tileWidth * tileHeight * samples);
    const rowBytes = Math.min(frame.width, tileWidth) * samples;
    const rows = Math.min(frame.height, tileHeight);
    for (let y = 0; y < rows; y++) {
      const from = y * frame.width * samples;
      out.set(pixels.subarray(from, from + rowBytes), y * tileWidth * samples);
    }
    return out.buffer;
  }
}
