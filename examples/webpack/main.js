// The README's "Adding it to a viewer", as a host app writes it, bundled by webpack 5: no asset
// copied, no option for where the worker, the WebAssembly or the extractors are (the package's
// `new URL(…)` literals have webpack emit them).
import OpenSeadragon from 'openseadragon';
import { openInWorker, pixelTileSource } from 'openseadragon-fewshot';

// The slide: CMU-1-Small-Region.svs (OpenSlide test data, CC0), copied beside the app by
// webpack.config.js; `?slide=<url>` opens another (its server must answer Range requests).
const url = new URLSearchParams(location.search).get('slide') ?? 'CMU-1-Small-Region.svs';
const slide = { kind: 'url', url: new URL(url, location.href).href };

const viewer = OpenSeadragon({ element: document.getElementById('viewer'), showNavigationControl: false });
viewer.open(pixelTileSource(await openInWorker(slide)));

const panel = document.querySelector('fewshot-segmenter');
panel.viewer = viewer;
panel.slide = slide; // its workers open the slide themselves
panel.addEventListener('adapted', (e) => console.log('adapted in', e.detail.seconds.toFixed(1), 's'));
