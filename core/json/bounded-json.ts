/**
 * JSON from user files, parsed within bounds. JSON.parse itself takes any depth, but every
 * recursive walk after it (structured clone, JSON.stringify, a reader's own checks) overflows the
 * stack on a 20,000-deep file with an untyped `RangeError: Maximum call stack size exceeded`
 * (issue 12). No file this project reads nests more than ~8 levels, so a depth bound refuses such
 * files with the reader's own typed error before anything walks them.
 */

/** Deepest nesting accepted: ten times what any of the project's files need. */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in JSON text, counted without parsing (brackets
 * inside strings skipped), stopping as soon as it exceeds `limit`.
 */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The deepest nesting of an already parsed value, iteratively, stopping beyond `limit`. */
export function jsonValueDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > deepest && (deepest = depth) > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth]);
    }
  }
  return deepest;
}

/** Why JSON input was refused: the reader turns it into its own typed error. */
export interface JsonProblem {
  readonly kind: 'not-json' | 'too-deep';
  readonly message: string;
}

/**
 * Parses text (or takes a parsed value) and checks its depth. Returns the value, or the problem
 * for the caller to throw as its own error: each reader has its own class and codes.
 */
export function readBoundedJson(
  input: unknown,
  limit = MAX_JSON_DEPTH,
):
  | { readonly value: unknown; readonly problem?: undefined }
  | { readonly value?: undefined; readonly problem: JsonProblem } {
  if (typeof input === 'string') {
    if (jsonTextDepth(input, limit) > limit)
      return { problem: { kind: 'too-deep', message: `it nests deeper than ${limit} levels` } };
    try {
      return { value: JSON.parse(input) };
    } catch (err) {
      // V8 quotes the text around the error: keep the message short whatever the file holds.
      const message = (err as Error).message;
      return { problem: { kind: 'not-json', message: message.length > 120 ? `${message.slice(0, 119)}…` : message } };
    }
  }
  if (jsonValueDepth(input, limit) > limit)
    return { problem: { kind: 'too-deep', message: `it nests deeper than ${limit} levels` } };
  return { value: input };
}
