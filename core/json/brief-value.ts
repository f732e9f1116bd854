/**
 * A bad value as an error message shows it: short whatever it is. Readers of user files echo
 * what they refuse, and echoing it whole made one message 3,000,189 characters long (issue 12:
 * a field replaced by a long string, or by an array of a million numbers).
 */

/** Characters of a value kept in a message. */
export const BRIEF_VALUE_LENGTH = 40;

/** Longest message a reader of user files throws (its prefix included): a status line. */
export const MAX_ERROR_MESSAGE = 400;

/** `missing`, a number as JS prints it, a string quoted and cut, or an array/object by its size and start. */
export function briefValue(value: unknown, max = BRIEF_VALUE_LENGTH): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') {
    const quoted = JSON.stringify(value.length > max ? value.slice(0, max) : value);
    return value.length > max ? `${quoted.slice(0, -1)}…" (${value.length} characters)` : quoted;
  }
  if (Array.isArray(value))
    return `an array of ${value.length}${value.length > 0 ? ` (${briefStart(value, max)})` : ''}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length === 0 ? '{}' : `an object (${briefStart(value, max)})`;
  }
  return typeof value;
}

/** The start of a value's JSON, shallowly: never walks more than `max` characters' worth. */
function briefStart(value: object, max: number): string {
  let text = '';
  const entries = Array.isArray(value) ? value.map((v) => [undefined, v] as const) : Object.entries(value);
  for (const [key, v] of entries) {
    const part =
      (key === undefined ? '' : `${JSON.stringify(key.slice(0, max))}: `) +
      (v !== null && typeof v === 'object' ? (Array.isArray(v) ? '[…]' : '{…}') : briefValue(v, max));
    text += (text ? ', ' : '') + part;
    if (text.length > max) return `${text.slice(0, max)}…`;
  }
  return text;
}

/** A message cut to `max` characters, ending in … when cut: the last guard for text from a file. */
export function briefMessage(message: string, max = MAX_ERROR_MESSAGE): string {
  return message.length > max ? `${message.slice(0, max - 1)}…` : message;
}
