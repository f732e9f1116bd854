/**
 * What loading an extractor bundle could not check (models/FORMAT.md#integrity), as the loader
 * says it (`ExtractorBundle.warnings`, strings so that they cross the worker boundary as they
 * are), and the one line a user is shown for them: what is missing, why, and what to do.
 */

export const NO_CHECKSUM_WARNING =
  'the manifest has no weightsSha256 (written before bundles carried one): the weights are not verified';
export const NO_PROBE_WARNING = 'the manifest has no probe (written before bundles carried one): not compared';
export const NO_WEBCRYPTO_WARNING =
  'this page has no WebCrypto (crypto.subtle needs https or localhost): the weights are not verified';

/**
 * "Extractor bundle: no checksum — saved by an older version; re-save it with `npm run
 * seal-bundle`", or the WebCrypto case; warnings it does not know are appended as they are.
 * Undefined when there is nothing to say.
 */
export function bundleWarningNote(warnings: readonly string[] | undefined): string | undefined {
  if (!warnings?.length) return undefined;
  const parts: string[] = [];
  const missing = [
    ...(warnings.includes(NO_CHECKSUM_WARNING) ? ['no checksum'] : []),
    ...(warnings.includes(NO_PROBE_WARNING) ? ['no probe'] : []),
  ];
  if (missing.length)
    parts.push(`${missing.join(', ')} — saved by an older version; re-save it with \`npm run seal-bundle\``);
  if (warnings.includes(NO_WEBCRYPTO_WARNING))
    parts.push('weights not verified — this page has no WebCrypto (crypto.subtle needs https or localhost)');
  const known = new Set([NO_CHECKSUM_WARNING, NO_PROBE_WARNING, NO_WEBCRYPTO_WARNING]);
  parts.push(...warnings.filter((w) => !known.has(w)));
  return `Extractor bundle: ${parts.join('; ')}`;
}
