/**
 * A bad value as an error message shows it: short whatever it is. Readers of user files echo
 * what they refuse, and echoing it whole made one message 3,000,189 characters long (issue 12:
 * a field replaced by a long string, or by an array of a million numbers).
 */

/** Characters of a value kept in a message. */
export const BRIEF_VALUE_LENGTH = 40;

/** Longest message a reader of user files throws (its prefix included): a status line. */
export const MAX_ERROR_MESSAGE = 400;

/**
 * `missing`, a number or string as JSON writes it (a long string cut, with its length), an array
 * or object as compact JSON when it is short (`[1,"a"]`), else its size and start. Never walks
 * more than a few levels or characters of the value, whatever its size or depth.
 */
export function briefValue(value: unknown, max = BRIEF_VALUE_LENGTH): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string' && value.length > max)
    return `${JSON.stringify(value.slice(0, max)).slice(0, -1)}…" (${value.length} characters)`;
  if (value === null || typeof value !== 'object') return render(value, max);
  const text = render(value, max + 1);
  if (text.length <= max) return text;
  const size = Array.isArray(value) ? `an array of ${value.length}` : `an object of ${Object.keys(value).length} keys`;
  return `${size} (${text.slice(0, max)}…)`;
}

/** Compact JSON of the value, cut once it passes `budget` characters; 3 levels, deeper ones as […] / {…}. */
function render(value: unknown, budget: number, depth = 0): string {
  if (typeof value === 'string') return JSON.stringify(value.length > budget ? value.slice(0, budget) : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value !== 'object') return typeof value;
  const array = Array.isArray(value);
  if (depth >= 3) return array ? '[…]' : '{…}';
  let text = array ? '[' : '{';
  const keys = array ? undefined : Object.keys(value);
  const n = array ? (value as unknown[]).length : keys!.length;
  for (let i = 0; i < n; i++) {
    if (text.length > budget) return text;
    const left = budget - text.length;
    const child = array ? (value as unknown[])[i] : (value as Record<string, unknown>)[keys![i]];
    const key = array ? '' : `${JSON.stringify(keys![i].slice(0, budget))}:`;
    const part = key + render(child, left, depth + 1);
    text += (i > 0 ? ',' : '') + part;
  }
  return text + (array ? ']' : '}');
}

/** Text from a file (a name) in a message: as it is when short, else cut, with its length. */
export function briefText(text: string, max = BRIEF_VALUE_LENGTH): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A message cut to `max` characters, ending in … when cut: the last guard for text from a file. */
export function briefMessage(message: string, max = MAX_ERROR_MESSAGE): string {
  return message.length > max ? `${message.slice(0, max - 1)}…` : message;
}
