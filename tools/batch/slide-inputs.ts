import fs from 'node:fs';
import path from 'node:path';
import type { ByteReader, ByteSlice } from '../../core/slide/http-blocks.js';
import { HttpBlocks } from '../../core/slide/http-blocks.js';
import { SlideError } from '../../core/slide/slide-error.js';
import { usageError } from '../cli.js';

/**
 * The batch's slides: files by path or glob, and http(s) URLs (the server must answer Range
 * requests), each opened as a ByteReader that batch-threads.ts serves to its workers. Node 20
 * has no fs.glob, so `*`, `?` and `**` are matched here, on path segments.
 */

export interface SlideInput {
  /** A file path or a URL, as given (or as the glob found it). */
  readonly source: string;
  /** The file name without its extension: what the slide's outputs are named after. */
  readonly name: string;
}

export const isUrl = (s: string) => /^https?:\/\//i.test(s);

function segmentPattern(segment: string): RegExp {
  const body = segment
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Files matching a glob (`*`, `?` within a segment, `**` for any folders), sorted. */
export function globFiles(pattern: string): string[] {
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split(/[\\/]+/).filter((s) => s !== '');
  const found: string[] = [];
  const walk = (dir: string, i: number): void => {
    if (i === segments.length) {
      if (fs.existsSync(dir) && fs.statSync(dir).isFile()) found.push(dir);
      return;
    }
    const segment = segments[i];
    if (segment === '**') {
      walk(dir, i + 1);
      for (const e of readDir(dir)) if (e.isDirectory()) walk(path.join(dir, e.name), i);
      return;
    }
    if (!/[*?]/.test(segment)) return walk(path.join(dir, segment), i + 1);
    const re = segmentPattern(segment);
    for (const e of readDir(dir)) if (re.test(e.name)) walk(path.join(dir, e.name), i + 1);
  };
  walk(absolute ? path.parse(pattern).root : '.', 0);
  return [...new Set(found)].sort();
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function nameOf(source: string): string {
  const base = isUrl(source)
    ? decodeURIComponent(new URL(source).pathname.split('/').pop() || 'slide')
    : path.basename(source);
  return base.replace(/\.(ome\.)?(tiff?|svs|ndpi|scn|bif)$/i, '') || base;
}

/**
 * Every slide of `--slide` values (paths, globs, URLs) and `--list` files (one path or URL a line;
 * blank lines and `#` comments skipped; paths relative to the list). A path that does not exist,
 * a glob that matches nothing, two slides of one name: usage errors, before any work starts.
 */
export function slideInputs(slides: readonly string[], lists: readonly string[]): SlideInput[] {
  const sources: string[] = [];
  const add = (value: string, option: string) => {
    if (isUrl(value)) sources.push(value);
    else if (/[*?]/.test(value)) {
      const matched = globFiles(value);
      if (matched.length === 0) usageError(`${option} ${value}: no file matches this pattern`);
      sources.push(...matched);
    } else if (!fs.existsSync(value) || !fs.statSync(value).isFile()) usageError(`${option} ${value}: no such file`);
    else sources.push(value);
  };
  for (const s of slides) add(s, '--slide');
  for (const list of lists) {
    if (!fs.existsSync(list) || !fs.statSync(list).isFile()) usageError(`--list ${list}: no such file`);
    for (const raw of fs.readFileSync(list, 'utf8').split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      add(isUrl(line) || path.isAbsolute(line) ? line : path.join(path.dirname(list), line), `--list ${list}:`);
    }
  }
  if (sources.length === 0) usageError('no slides: give --slide PATH|GLOB|URL or --list FILE');
  const byName = new Map<string, string>();
  return sources.map((source) => {
    const name = nameOf(source);
    const other = byName.get(name);
    if (other !== undefined && other !== source)
      usageError(`two slides would write outputs named '${name}': ${other} and ${source}`);
    byName.set(name, source);
    return { source, name };
  });
}

/** A local file's bytes by offset: one file handle, reads clamped at the end as a server clamps a Range. */
async function fileReader(file: string): Promise<ByteReader & { close(): Promise<void> }> {
  const handle = await fs.promises.open(file, 'r');
  const { size } = await handle.stat();
  const name = path.basename(file);
  return {
    name,
    size,
    async read(slices: readonly ByteSlice[], signal?: AbortSignal) {
      return Promise.all(
        slices.map(async ({ offset, length }) => {
          if (signal?.aborted) throw new SlideError('aborted', name, 'the read was aborted');
          if (offset >= size)
            throw new SlideError('truncated', name, `a read at byte ${offset} of a ${size}-byte file`);
          const bytes = new Uint8Array(Math.min(length, size - offset));
          let done = 0;
          while (done < bytes.length) {
            const { bytesRead } = await handle.read(bytes, done, bytes.length - done, offset + done);
            if (bytesRead === 0) break;
            done += bytesRead;
          }
          return bytes;
        }),
      );
    },
    close: () => handle.close(),
  };
}

/** Opens a slide's bytes: a file by its handle, a URL by Range requests in blocks (core/slide/http-blocks.ts). */
export async function openSlideBytes(
  input: SlideInput,
  signal?: AbortSignal,
): Promise<ByteReader & { close(): Promise<void> }> {
  if (!isUrl(input.source)) return fileReader(input.source);
  const blocks = await HttpBlocks.open(input.source, input.name, { signal });
  return Object.assign(blocks, { close: async () => undefined });
}
