/**
 * OpenSeadragon ≥ 6 appends one `<style>` element to the page when its first viewer is created
 * (a focus-outline rule for touch screens), unless an element matching
 * `style[data-openseadragon-mobile-css]` is already there. A page whose Content-Security-Policy
 * has no `'unsafe-inline'` in style-src refuses that element and reports a violation (measured:
 * the only violation of the plugin's page under `default-src 'self'; script-src 'self'
 * 'wasm-unsafe-eval'; worker-src 'self'`, test/plugin/strict-csp.node.test.ts).
 *
 * This gives the page the same rule as a constructed stylesheet (adoptedStyleSheets, which CSP
 * does not govern) and leaves OpenSeadragon the marker it looks for: an element named `style`
 * outside the HTML and SVG namespaces, which the selector matches but which is no style element,
 * so the CSP never checks it. Call it before the first viewer is created; calling it again does
 * nothing.
 */
const MARKER = 'data-openseadragon-mobile-css';
/** Not a namespace anything is defined in: the element is inert. */
const MARKER_NAMESPACE = 'urn:openseadragon-fewshot:marker';
/** OpenSeadragon's own rule (openseadragon.js, Viewer constructor). */
const MOBILE_FOCUS_RULE = '@media (hover: none) { .openseadragon-canvas:focus { outline: none !important; } }';

export function adoptOpenSeadragonStyles(doc: Document = document): void {
  if (doc.querySelector(`style[${MARKER}]`)) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(MOBILE_FOCUS_RULE);
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  const marker = doc.createElementNS(MARKER_NAMESPACE, 'style');
  marker.setAttribute(MARKER, 'adopted');
  doc.head.append(marker);
}
