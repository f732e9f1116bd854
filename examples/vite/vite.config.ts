import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Nothing here is about the plugin: a host app needs no option for it. The public folder is the
// repository's demo slides (so the example has a slide without a copy of it), and the build
// targets top-level await (main.ts awaits the slide).
export default defineConfig({
  publicDir: fileURLToPath(new URL('../../viewer-demo/slides', import.meta.url)),
  build: { target: 'es2022' },
});
