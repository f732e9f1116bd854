/**
 * Checking that a file the plugin loads by URL (a WebAssembly binary, the extractors' manifest or
 * weights) is that file. A host app whose bundler did not emit one, or a CDN path with a typo,
 * usually answers 200 with its index.html (dev servers and single-page-app hosting do), and the
 * reader then fails far from the cause: WebAssembly "expected magic word", or a weights file "of
 * 742 bytes". Here the answer is looked at first, and the error names the URL and what came back.
 */

/** What the caller expected the URL to hold. */
export type AssetKind = 'wasm' | 'json' | 'binary';

const EXPECTED: Record<AssetKind, string> = {
  wasm: 'WebAssembly',
  json: 'JSON',
  binary: 'a binary file',
};

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** A body that opens as an HTML page (a weights file may start with the byte '<', so not that alone). */
function looksLikeHtml(head: Uint8Array): boolean {
  const text = String.fromCharCode(...head.subarray(0, 32))
    .trimStart()
    .toLowerCase();
  return text.startsWith('<!doctype html') || text.startsWith('<html');
}

/** `response`'s status and content type, and the first bytes of its body. */
export interface AssetAnswer {
  readonly status: number;
  readonly statusText?: string;
  readonly contentType: string | null;
  readonly head: Uint8Array;
}

/**
 * Why `answer` is not the `expected` file at `url`, as a sentence naming both (`what` names the
 * file), or undefined when it looks right: an HTTP error, an HTML page (by its content type or its
 * first bytes), or for wasm a body without WebAssembly's magic number. Whether JSON parses is left
 * to its reader.
 */
export function wrongAsset(
  url: string,
  answer: AssetAnswer,
  expected: AssetKind,
  what: string = EXPECTED[expected],
): string | undefined {
  if (answer.status < 200 || answer.status > 299) {
    const text = answer.statusText ? ` ${answer.statusText}` : '';
    return `${url} answered HTTP ${answer.status}${text} instead of ${what}`;
  }
  const type = answer.contentType ?? '';
  if (/text\/html/i.test(type) || looksLikeHtml(answer.head)) {
    const shown = type ? ` (${type.split(';')[0].trim()})` : '';
    return (
      `${url} answered HTML${shown} instead of ${what}: the file is not there ` +
      `(a server that answers every path with its index.html)`
    );
  }
  if (expected === 'wasm' && !WASM_MAGIC.every((b, i) => answer.head[i] === b)) {
    const shown = type ? ` (${type.split(';')[0].trim()})` : '';
    return `${url} answered a file that is not WebAssembly${shown}: it lacks the \\0asm header`;
  }
  return undefined;
}

/** The answer of a finished fetch with its whole body, for wrongAsset. */
export function answerOf(response: Response, body: ArrayBuffer): AssetAnswer {
  return {
    status: response.status,
    statusText: response.statusText,
    contentType: response.headers.get('content-type'),
    head: new Uint8Array(body, 0, Math.min(body.byteLength, 64)),
  };
}

/**
 * Fetches `url` and returns its bytes, or throws an Error whose message says what came back
 * instead of the `expected` file (wrongAsset) or why nothing came back.
 */
export async function fetchAsset(url: URL | string, expected: AssetKind, signal?: AbortSignal): Promise<ArrayBuffer> {
  const href = String(url);
  let response: Response;
  try {
    response = await fetch(href, { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new Error(`could not fetch ${href}: ${(err as Error).message}`, { cause: err });
  }
  const body = await response.arrayBuffer();
  const problem = wrongAsset(href, answerOf(response, body), expected);
  if (problem) throw new Error(problem);
  return body;
}

/**
 * Why `url` is not the `expected` file, or undefined when it is: for explaining after the fact a
 * library that fetched the file itself and only said it failed (TF.js' wasm backend).
 */
export async function probeAsset(url: URL | string, expected: AssetKind): Promise<string | undefined> {
  try {
    await fetchAsset(url, expected);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
