import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const SLIDES = here('../../viewer-demo/slides/');

/**
 * Writes index.html (its script tag pointed at the bundle) and the demo's slides beside the
 * bundle, so that dist/ is the whole site. Nothing here is about the plugin: a host app needs no
 * option for it.
 */
class Site {
  apply(compiler) {
    compiler.hooks.thisCompilation.tap('Site', (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: 'Site', stage: webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        () => {
          const html = readFileSync(here('index.html'), 'utf8').replace('./main.js', './main.bundle.js');
          compilation.emitAsset('index.html', new webpack.sources.RawSource(html));
          for (const name of readdirSync(SLIDES).filter((n) => n.endsWith('.svs')))
            compilation.emitAsset(name, new webpack.sources.RawSource(readFileSync(SLIDES + name)));
        },
      );
    });
  }
}

export default {
  mode: 'production',
  context: here('.'),
  entry: './main.js',
  output: { path: here('dist'), filename: 'main.bundle.js', module: true, clean: true },
  experiments: { outputModule: true },
  performance: { hints: false },
  plugins: [new Site()],
};
