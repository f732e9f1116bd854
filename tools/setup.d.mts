/** Path of a Chromium executable on this machine, if any. */
export function findChromium(): string | undefined;
