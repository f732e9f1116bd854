/**
 * The SHA-256 of a bundle's weights file (models/FORMAT.md#integrity), by WebCrypto: in browsers,
 * workers and Node ≥ 20 alike. Finite corruptions of the weights (random bytes, a flipped
 * exponent bit, zeros) pass every layout and finiteness check — 75 of 75 were accepted before
 * bundles carried this (issue 12) — and only a checksum of the bytes catches them all.
 */

/** Lower-case hex, 64 characters. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The hex SHA-256 of the bytes, or undefined where WebCrypto's digest is missing: browsers
 * expose `crypto.subtle` only in secure contexts (https, localhost), so a page served over
 * plain http has none.
 */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
