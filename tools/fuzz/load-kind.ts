import { pathToFileURL } from 'node:url';
import type { FuzzKind } from './fuzz-kind.js';
import { FUZZ_KINDS } from './fuzz-kinds.js';

/** A registered kind by name, or the `kind` export of a module file (a test's own kind). */
export async function loadKind(spec: string): Promise<FuzzKind> {
  const registered = FUZZ_KINDS[spec];
  if (registered) return registered();
  if (!/[\\/]/.test(spec))
    throw new Error(`unknown fuzz kind '${spec}' (known: ${Object.keys(FUZZ_KINDS).join(', ')})`);
  const module = (await import(pathToFileURL(spec).href)) as { kind?: FuzzKind };
  if (!module.kind) throw new Error(`${spec} exports no 'kind'`);
  return module.kind;
}
