// `npm start`: serves the built demo, which opens its embedded slide (viewer-demo/slides/, copied
// by the build). The synthetic slide of `npm run sample`, when made, is served too, as
// slides/sample-slide.tif (open it with ?slide=slides/sample-slide.tif); start never makes it:
// that took ~250 s on 2 cores, most of the time a first run spent before the URL showed.
import { serveDemo } from './serve.js';

const { url } = await serveDemo({
  demoDir: 'dist/demo',
  slidesDir: '.cache/sample',
  port: Number(process.env.PORT ?? 8080),
});
console.log(`\nDemo: ${url}  (Ctrl+C to stop)`);
