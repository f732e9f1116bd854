import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The dependency rules of docs/ARCHITECTURE.md#dependency-rules, checked on the sources: every
 * import, export-from, dynamic import() and import type of every file under the source folders,
 * parsed with the TypeScript compiler (comments and strings are not imports), relative ones
 * resolved to files. Tests are exempt: they may import anything.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_FOLDERS = ['core', 'worker', 'plugin', 'tools', 'viewer-demo'] as const;
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.mjs'];
/** The package's own name resolves to its entry, plugin/index.ts. */
const SELF = 'openseadragon-fewshot';

interface Import {
  /** As written in the source. */
  readonly specifier: string;
  /** Repository-relative path with '/' for a relative (or self) import; undefined for a package. */
  readonly target?: string;
  /** Erased at build: `import type`, every named binding `type`, or `typeof import('…')`. */
  readonly typeOnly: boolean;
  readonly line: number;
}

/** Every module specifier `text` imports or re-exports. */
function parseImports(fileName: string, text: string): { specifier: string; typeOnly: boolean; line: number }[] {
  const kind = fileName.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const found: { specifier: string; typeOnly: boolean; line: number }[] = [];
  const add = (literal: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(literal)) return;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    found.push({ specifier: literal.text, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const clause = node.exportClause;
      const typeOnly =
        node.isTypeOnly ||
        (clause !== undefined &&
          ts.isNamedExports(clause) &&
          clause.elements.length > 0 &&
          clause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      if (node.arguments.length > 0) add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument)) add(argument.literal, true);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** DOM globals used as values (not as property names) in `text`. */
function domGlobals(fileName: string, text: string): { name: string; line: number }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = new Set(['document', 'window', 'customElements', 'localStorage', 'sessionStorage', 'indexedDB']);
  const found: { name: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && (names.has(node.text) || /^HTML\w*Element$/.test(node.text))) {
      const parent = node.parent;
      const isPropertyName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        ((ts.isPropertyAssignment(parent) ||
          ts.isPropertySignature(parent) ||
          ts.isPropertyDeclaration(parent) ||
          ts.isMethodDeclaration(parent) ||
          ts.isMethodSignature(parent)) &&
          parent.name === node) ||
        (ts.isParameter(parent) && parent.name === node) ||
        (ts.isVariableDeclaration(parent) && parent.name === node) ||
        ts.isBindingElement(parent);
      if (!isPropertyName) {
        found.push({ name: node.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const toPosix = (p: string) => p.split(path.sep).join('/');
const exists = (rel: string) => fs.existsSync(path.join(ROOT, rel)) && fs.statSync(path.join(ROOT, rel)).isFile();

/** The file a relative specifier names: './x.js' is './x.ts' in the sources. */
function resolveRelative(fromFile: string, specifier: string): string {
  const base = toPosix(path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier)));
  const candidates: string[] = [];
  if (base.endsWith('.js')) candidates.push(base.slice(0, -3) + '.ts', base.slice(0, -3) + '.tsx');
  if (base.endsWith('.mjs')) candidates.push(base.slice(0, -4) + '.mts');
  candidates.push(base, base + '.ts', base + '/index.ts');
  return candidates.find(exists) ?? base;
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(child);
      else if (entry.isFile() && SOURCE_EXTENSIONS.some((e) => entry.name.endsWith(e))) {
        if (!/\.d\.m?ts$/.test(entry.name)) files.push(child);
      }
    }
  };
  for (const folder of SOURCE_FOLDERS) walk(folder);
  return files.sort();
}

const files = sourceFiles();
const texts = new Map(files.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
const imports = new Map<string, Import[]>(
  files.map((file) => [
    file,
    parseImports(file, texts.get(file)!).map(({ specifier, typeOnly, line }) => {
      const target = specifier.startsWith('.')
        ? resolveRelative(file, specifier)
        : specifier === SELF
          ? 'plugin/index.ts'
          : undefined;
      return { specifier, target, typeOnly, line };
    }),
  ]),
);

const folderOf = (rel: string) => rel.split('/')[0];

/** "file:line imports 'specifier' (target): why", for every import of files in `from` that `bad` flags. */
function violations(from: string, bad: (i: Import) => string | undefined): string[] {
  const out: string[] = [];
  for (const [file, list] of imports) {
    if (folderOf(file) !== from) continue;
    for (const i of list) {
      const why = bad(i);
      if (why) out.push(`${file}:${i.line} imports '${i.specifier}'${i.target ? ` (${i.target})` : ''}: ${why}`);
    }
  }
  return out;
}

function assertNone(found: string[], rule: string): void {
  assert.equal(found.length, 0, `${rule}\n  ${found.join('\n  ')}`);
}

test('the parser sees every kind of import, and only imports', () => {
  const sample = [
    "import a from './a.js';",
    "import type { B } from './b.js';",
    "import { type C, type D } from './c.js';",
    "import { type E, f } from './e.js';",
    "import './side-effect.js';",
    "export { g } from './g.js';",
    "export type { H } from './h.js';",
    "export * from './star.js';",
    "const m = await import('./dynamic.js');",
    "type T = typeof import('./type-query.js');",
    "// import x from './comment.js';",
    'const s = "import y from \'./string.js\'";',
  ].join('\n');
  assert.deepEqual(
    parseImports('sample.ts', sample).map((i) => `${i.specifier}${i.typeOnly ? ' (type)' : ''}`),
    [
      './a.js',
      './b.js (type)',
      './c.js (type)',
      './e.js',
      './side-effect.js',
      './g.js',
      './h.js (type)',
      './star.js',
      './dynamic.js',
      './type-query.js (type)',
    ],
  );
  assert.equal(resolveRelative('plugin/pool/worker-pool.ts', '../../worker/protocol.js'), 'worker/protocol.ts');
});

test('the source folders are found and parsed', () => {
  for (const folder of SOURCE_FOLDERS) {
    assert.ok(
      files.some((f) => folderOf(f) === folder),
      `no source file found under ${folder}/`,
    );
  }
});

test('every relative import names a file', () => {
  // Else the rules below would judge a path that is not there.
  const broken = files.flatMap((file) =>
    imports
      .get(file)!
      .filter((i) => i.target && !exists(i.target))
      .map((i) => `${file}:${i.line} '${i.specifier}'`),
  );
  assertNone(broken, 'relative imports that name no file:');
});

test('no import cycles among the source files', () => {
  // Tarjan's strongly connected components over every import (type-only ones too: a cycle of
  // types is still two modules that cannot be understood one without the other).
  const targets = (f: string) => imports.get(f)!.flatMap((i) => (i.target && texts.has(i.target) ? [i.target] : []));
  const edges = new Map(files.map((f) => [f, [...new Set(targets(f))]]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)!.includes(v)) components.push(component);
    }
  };
  for (const f of files) if (!index.has(f)) connect(f);

  /** One concrete cycle through `start` inside its component, as a path of files. */
  const cycleThrough = (start: string, members: Set<string>): string[] => {
    const seen = new Set<string>();
    const walk = (v: string, trail: string[]): string[] | undefined => {
      for (const w of edges.get(v)!) {
        if (w === start) return [...trail, start];
        if (members.has(w) && !seen.has(w)) {
          seen.add(w);
          const found = walk(w, [...trail, w]);
          if (found) return found;
        }
      }
      return undefined;
    };
    return walk(start, [start]) ?? [start];
  };
  const found = components.map((c) => {
    const members = new Set(c);
    const start = [...c].sort()[0];
    return `${cycleThrough(start, members).join(' → ')}  (files in the cycle: ${[...c].sort().join(', ')})`;
  });
  assertNone(found, 'import cycles:');
});

test('core/ imports nothing from plugin/, worker/, tools/, viewer-demo/ or test/', () => {
  const forbidden = new Set(['plugin', 'worker', 'tools', 'viewer-demo', 'test']);
  assertNone(
    violations('core', (i) =>
      i.target && forbidden.has(folderOf(i.target)) ? 'core/ is below every other folder' : undefined,
    ),
    'core/ must import only core/ and packages:',
  );
});

test('worker/ imports only core/ and worker/', () => {
  assertNone(
    violations('worker', (i) =>
      i.target && !['core', 'worker'].includes(folderOf(i.target)) ? 'the worker is built from core/ alone' : undefined,
    ),
    'worker/ must import only core/, worker/ and packages:',
  );
});

test('tools/ imports nothing from plugin/ or viewer-demo/', () => {
  assertNone(
    violations('tools', (i) =>
      i.target && ['plugin', 'viewer-demo'].includes(folderOf(i.target)) ? 'tools run in Node on core/' : undefined,
    ),
    'tools/ must not import plugin/ or viewer-demo/:',
  );
});

test('nothing but plugin/ and viewer-demo/ imports plugin/', () => {
  const found = ['core', 'worker', 'tools'].flatMap((from) =>
    violations(from, (i) =>
      i.target && folderOf(i.target) === 'plugin' ? 'plugin/ is the top: only the demo uses it' : undefined,
    ),
  );
  assertNone(found, 'imports of plugin/ from outside plugin/ and viewer-demo/:');
});

test('plugin/ imports from worker/ only the types of worker/protocol.ts', () => {
  assertNone(
    violations('plugin', (i) => {
      if (!i.target || folderOf(i.target) !== 'worker') return undefined;
      if (i.target !== 'worker/protocol.ts') return 'the main thread knows the worker by its protocol only';
      return i.typeOnly ? undefined : 'import the protocol with `import type` (the worker code loads in workers)';
    }),
    'plugin/ imports of worker/ other than `import type … from worker/protocol.ts`:',
  );
});

test('core/ and worker/ touch neither the DOM, Lit nor OpenSeadragon', () => {
  const uiPackage = (s: string) => /^(openseadragon|lit|lit-html|lit-element|@lit\/[^/]+)(\/|$)/.test(s);
  const found = ['core', 'worker'].flatMap((from) =>
    violations(from, (i) => (uiPackage(i.specifier) ? 'a main-thread UI package' : undefined)),
  );
  for (const file of files) {
    if (!['core', 'worker'].includes(folderOf(file))) continue;
    for (const use of domGlobals(file, texts.get(file)!)) {
      found.push(`${file}:${use.line} uses the DOM global '${use.name}'`);
    }
  }
  assertNone(found, 'core/ and worker/ must run without a DOM (in workers and Node):');
});

test("the page's entry (plugin/index.ts) reaches no TF.js: TF.js runs in the workers only", () => {
  // A value import chain from the package entry to @tensorflow/* puts TF.js (3 MB) into
  // dist/index.js and breaks host bundlers on its Node branches (esbuild: 'Could not resolve "util"').
  const trail = new Map<string, string>([['plugin/index.ts', '']]);
  const queue = ['plugin/index.ts'];
  const found: string[] = [];
  while (queue.length) {
    const file = queue.shift()!;
    for (const i of imports.get(file) ?? []) {
      if (i.typeOnly) continue;
      const via = `${trail.get(file)}${file}:${i.line} → `;
      if (/^@tensorflow\//.test(i.specifier)) found.push(`${via}'${i.specifier}'`);
      else if (i.target && texts.has(i.target) && !trail.has(i.target)) {
        trail.set(i.target, via);
        queue.push(i.target);
      }
    }
  }
  assertNone(found, 'value imports from plugin/index.ts that reach TF.js:');
});
