/**
 * Mutations of JSON files for the user-file fuzz kinds (heads, support sets, bundle manifests):
 * one change per mutant, either JSON-aware (a value somewhere in the tree replaced by an extreme
 * number, a NaN-like string, a wrong type, a long string or deep nesting; a key removed; an array
 * cut short) or byte-level (flipped, zeroed, inserted or cut bytes). One change at a time, so a
 * refusal can be traced to what the mutant broke.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A uniform integer in [0, n). */
export const pick = (random: () => number, n: number): number => Math.floor(random() * n);

/** Numbers a reader must refuse or survive: beyond float32, beyond float64's useful range, signs, zero. */
const EXTREME_NUMBERS = [1e308, -1e308, 3.5e38, -3.5e38, 1e39, 1e38, -1e38, 1e-300, 1e-45, 0, -1, -0.5, 2 ** 53, 1e20];
const NAN_LIKE = ['NaN', 'Infinity', '-Infinity', '1e999', '', 'null', '0x10'];
/** Nesting this deep overflowed recursive readers (issue 12: 20,000 levels). */
export const DEEP_NESTING = 20_000;
/** Long enough that echoing it in a message shows, short enough to keep a mutant quick. */
const LONG_STRING = 200_000;

interface Slot {
  readonly parent: Json[] | { [key: string]: Json };
  readonly key: string | number;
}

function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        stack.push(v);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node, key: k });
        stack.push(v);
      }
    }
  }
  return out;
}

const get = (s: Slot): Json => (s.parent as Record<string | number, Json>)[s.key];
const set = (s: Slot, v: Json) => ((s.parent as Record<string | number, Json>)[s.key] = v);

/** A placeholder replaced in the text after JSON.stringify: deep nesting cannot go through it. */
const DEEP_MARK = '\u0000deep\u0000';

/** One JSON-aware change to the parsed value, as text. */
export function mutateJsonText(text: string, random: () => number): string {
  const root = JSON.parse(text) as Json;
  const all = slots(root);
  // Numbers are where float32 and range problems live: pick them half the time.
  const numbers = all.filter((s) => typeof get(s) === 'number');
  const slot =
    numbers.length > 0 && random() < 0.5 ? numbers[pick(random, numbers.length)] : all[pick(random, all.length)];
  if (!slot) return text;
  const value = get(slot);
  switch (pick(random, 9)) {
    case 0:
    case 1:
      set(slot, EXTREME_NUMBERS[pick(random, EXTREME_NUMBERS.length)]);
      break;
    case 2:
      set(slot, typeof value === 'number' ? -value * (1 + pick(random, 1e6)) : 1e308);
      break;
    case 3:
      set(slot, NAN_LIKE[pick(random, NAN_LIKE.length)]);
      break;
    case 4: {
      const wrong: Json[] = [null, true, 'x', [], {}, [1, 2, 3], { a: 1 }, 0];
      set(slot, wrong[pick(random, wrong.length)]);
      break;
    }
    case 5:
      if (Array.isArray(slot.parent)) slot.parent.splice(Number(slot.key), 1);
      else delete slot.parent[slot.key as string];
      break;
    case 6:
      set(slot, 'x'.repeat(LONG_STRING));
      break;
    case 7:
      set(slot, DEEP_MARK);
      break;
    default:
      if (Array.isArray(value) && value.length > 0) value.length = pick(random, value.length);
      else if (Array.isArray(value)) value.push(...Array.from({ length: 1000 }, () => 1e308));
      else set(slot, [value, value]);
  }
  const out = JSON.stringify(root);
  return out.replace(JSON.stringify(DEEP_MARK), '['.repeat(DEEP_NESTING) + '0' + ']'.repeat(DEEP_NESTING));
}

/** One byte-level change: flip, zero, insert or cut. */
export function mutateBytes(bytes: Uint8Array, random: () => number): Uint8Array {
  if (bytes.length === 0) return Uint8Array.of(pick(random, 256));
  const out = bytes.slice();
  const at = pick(random, bytes.length);
  switch (pick(random, 5)) {
    case 0:
      for (let k = 0, n = 1 + pick(random, 8); k < n; k++) out[pick(random, out.length)] ^= 1 << pick(random, 8);
      return out;
    case 1:
      out.fill(0, at, at + 1 + pick(random, 16));
      return out;
    case 2: {
      const extra = Uint8Array.from({ length: 1 + pick(random, 16) }, () => pick(random, 256));
      const grown = new Uint8Array(out.length + extra.length);
      grown.set(out.subarray(0, at));
      grown.set(extra, at);
      grown.set(out.subarray(at), at + extra.length);
      return grown;
    }
    case 3:
      return out.slice(0, at);
    default:
      // A JSON-significant character somewhere: structure breaks in the middle.
      out[at] = encoder.encode('{}[],:"0-e.')[pick(random, 11)];
      return out;
  }
}

/** A mutant of a JSON file: JSON-aware three times in four, else byte-level. */
export function mutateJson(bytes: Uint8Array, random: () => number): Uint8Array {
  if (random() < 0.25) return mutateBytes(bytes, random);
  return encoder.encode(mutateJsonText(decoder.decode(bytes), random));
}

export const jsonText = (bytes: Uint8Array): string => decoder.decode(bytes);
export const jsonBytes = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
