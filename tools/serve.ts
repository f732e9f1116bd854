// Serves the built demo and a folder of slides on localhost. sirv answers HTTP Range requests,
// which the slide reader needs. /slides/<name> is looked up in `slidesDir` first (e.g. the
// generated .cache/sample/), then in the demo's own slides/ (the embedded CMU-1 slide).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import sirv from 'sirv';

export interface ServeOptions {
  readonly demoDir: string;
  readonly slidesDir: string;
  readonly port?: number;
  readonly host?: string;
  /** Sees every request before it is answered (tools/bench-view.ts counts the slide's reads here). */
  readonly onRequest?: (req: IncomingMessage, res: ServerResponse) => void;
}

export async function serveDemo({ demoDir, slidesDir, port = 8080, host = '127.0.0.1', onRequest }: ServeOptions) {
  const demo = sirv(demoDir, { dev: true, etag: true });
  const slides = sirv(slidesDir, { dev: true, etag: true });
  const server = createServer((req, res) => {
    onRequest?.(req, res);
    const next = () => {
      res.statusCode = 404;
      res.end('not found');
    };
    const url = req.url;
    if (url?.startsWith('/slides/')) {
      req.url = url.slice('/slides'.length);
      slides(req, res, () => {
        req.url = url;
        demo(req, res, next);
      });
    } else demo(req, res, next);
  });
  for (let p = port; ; p++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(p, host, () => resolve());
      });
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : p;
      return { server, url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}/` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || p - port > 20 || port === 0) throw err;
    }
  }
}
