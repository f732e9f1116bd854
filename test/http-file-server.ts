import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

export interface FileServer {
  /** URL under which `path` is served. */
  url(path: string): string;
  close(): Promise<void>;
}

/**
 * Serves local files over HTTP on 127.0.0.1. With `ranges: false` it behaves like a server
 * that ignores Range headers and sends the whole file, a case the slide reader must refuse.
 */
export async function serveFiles({ ranges }: { ranges: boolean }): Promise<FileServer> {
  const server: Server = createServer((req, res) => {
    const file = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const range = ranges ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(size - 1, range[2] ? Number(range[2]) : size - 1);
      if (start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, {
        'Content-Range': `bytes ${start}-${end}/${size}`,
        'Content-Length': end - start + 1,
        'Accept-Ranges': 'bytes',
      });
      createReadStream(file, { start, end }).pipe(res);
    } else {
      res.writeHead(200, { 'Content-Length': size });
      createReadStream(file).pipe(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (path) => `http://127.0.0.1:${port}${encodeURI(path)}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
