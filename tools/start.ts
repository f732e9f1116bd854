// `npm start`: make the sample slide if needed, then serve the built demo.
import { makeSampleSlide } from './sample/index.js';
import { serveDemo } from './serve.js';

const slidesDir = '.cache/sample';
await makeSampleSlide({ out: slidesDir });
const { url } = await serveDemo({ demoDir: 'dist/demo', slidesDir, port: Number(process.env.PORT ?? 8080) });
console.log(`\nDemo: ${url}  (Ctrl+C to stop)`);
