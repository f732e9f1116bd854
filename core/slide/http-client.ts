import { BaseClient, BaseResponse } from 'geotiff';
import { SlideError } from './slide-error.js';

class Response_ extends BaseResponse {
  constructor(private readonly response: Response) {
    super();
  }
  get status(): number {
    return this.response.status;
  }
  getHeader(name: string): string {
    return this.response.headers.get(name) ?? (undefined as unknown as string);
  }
  async getData(): Promise<ArrayBuffer> {
    return this.response.arrayBuffer();
  }
}

/**
 * geotiff's HTTP client, but failures say what happened: geotiff's own turns every status
 * into "Error fetching data.", which cannot tell a truncated file (416: the range lies past
 * its end) from a vanished one.
 */
export class SlideHttpClient extends BaseClient {
  constructor(
    url: string,
    private readonly name: string,
  ) {
    super(url);
  }

  async request({
    headers,
    signal,
  }: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<BaseResponse> {
    // Past the browser's HTTP cache: Chromium, given overlapping Range requests for one URL
    // (a resampled read spanning tiles other reads had fetched), answered some from partial cache
    // entries with truncated bodies, which then failed to inflate. geotiff's block cache caches.
    const response = await fetch(this.url, { headers, signal, cache: 'no-store' });
    if (response.status === 416) {
      await response.body?.cancel();
      throw new SlideError(
        'truncated',
        this.name,
        `the file is truncated: the server says bytes ${headers?.Range?.replace('bytes=', '') ?? ''} lie past its end`,
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new SlideError(
        'network',
        this.name,
        `the server answered HTTP ${response.status} ${response.statusText}`.trim(),
      );
    }
    return new Response_(response);
  }
}
