import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

/**
 * Every TypeScript (and JavaScript) snippet of the README and docs/ARCHITECTURE.md compiles as a
 * host app would write it: a module in a folder of its own whose node_modules has
 * `openseadragon-fewshot` (this repository, so the package's `exports` "types" entry: the built
 * dist/types) and `openseadragon`, under a Vite-like strict tsconfig with no ambient @types.
 * A snippet that needs a variable it does not declare names it in an HTML comment on the line
 * above its fence, `<!-- snippet-context: viewer -->`; CONTEXTS below declares each such name.
 * A fence in any other language must be one of NOT_CODE, so no snippet goes unchecked unnoticed.
 */

const root = path.resolve(import.meta.dirname, '..');
const DOCUMENTS = ['README.md', 'docs/ARCHITECTURE.md'];
const COMPILED = new Map([
  ['ts', '.ts'],
  ['typescript', '.ts'],
  ['js', '.js'],
  ['javascript', '.js'],
]);
const NOT_CODE = new Set(['sh', 'bash', 'shell', 'console', 'text', 'json']);

/** Ambient declarations a snippet may ask for; each is what the surrounding prose says it is. */
const CONTEXTS: Record<string, string> = {
  viewer: "declare const viewer: import('openseadragon').Viewer;",
  run: "declare const run: import('openseadragon-fewshot').RegionRun;",
};

/** What `npm create vite` (vanilla-ts) writes in tsconfig.json, and strict; no @types at all. */
const HOST_OPTIONS = {
  target: 'ES2022',
  module: 'ESNext',
  moduleResolution: 'bundler',
  lib: ['ES2022', 'DOM', 'DOM.Iterable'],
  types: [],
  strict: true,
  noEmit: true,
  allowJs: true,
  checkJs: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  moduleDetection: 'force',
  noUnusedLocals: true,
  noUnusedParameters: true,
  noFallthroughCasesInSwitch: true,
  noUncheckedSideEffectImports: true,
  skipLibCheck: false,
};

export interface Snippet {
  readonly document: string;
  /** 1-based line in the document of the snippet's first line of code. */
  readonly line: number;
  readonly extension: string;
  readonly context: readonly string[];
  readonly code: string;
}

/** The fenced blocks of a Markdown text that are code to compile; throws on an unknown language. */
export function extractSnippets(document: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, , fence, language] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    if (end === lines.length) throw new Error(`${document}:${i + 1}: a code fence that is never closed`);
    const extension = COMPILED.get(language.toLowerCase());
    if (!extension && !NOT_CODE.has(language.toLowerCase()))
      throw new Error(
        `${document}:${i + 1}: a \`\`\`${language || '(no language)'} block: mark code as ts or js so this test ` +
          `compiles it, or add its language to NOT_CODE`,
      );
    if (extension) {
      const above = /<!--\s*snippet-context:\s*([\w\s,]+?)\s*-->/.exec(lines[i - 1] ?? '');
      const context = above ? above[1].split(/[\s,]+/).filter(Boolean) : [];
      for (const name of context)
        if (!(name in CONTEXTS)) throw new Error(`${document}:${i}: unknown snippet-context '${name}'`);
      snippets.push({ document, line: i + 2, extension, context, code: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return snippets;
}

/** dist/types as the build makes it; rebuilt here (the build's own tsc step) when a source is newer. */
function ensureBuiltTypes(): void {
  const entry = path.join(root, 'dist/types/plugin/index.d.ts');
  const built = fs.existsSync(entry) ? fs.statSync(entry).mtimeMs : 0;
  const newest = Math.max(
    ...['core', 'plugin', 'worker'].flatMap((folder) =>
      fs
        .readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => fs.statSync(path.join(root, folder, f)).mtimeMs),
    ),
  );
  if (built >= newest) return;
  execFileSync(process.execPath, [require_('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}

const require_ = (specifier: string) => path.join(root, 'node_modules', specifier);

interface Compiled {
  /** Each snippet's errors, located in its document. */
  readonly snippets: { readonly snippet: Snippet; readonly errors: string[] }[];
  /** Errors anywhere else (dist/types itself, a library it pulls in, the options): the package's own. */
  readonly other: string[];
}

function describe(d: ts.Diagnostic, where?: (line: number) => string): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
  if (!d.file || d.start === undefined) return `TS${d.code}: ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  const at = where ? where(line) : `${path.relative(root, d.file.fileName)}:${line + 1}`;
  return `${at}:${character + 1}: TS${d.code}: ${message}`;
}

/** Compiles the snippets as modules of one host app in a temporary folder. */
export function compileSnippets(snippets: readonly Snippet[]): Compiled {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'fewshot-readme-'));
  try {
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.symlinkSync(root, path.join(app, 'node_modules/openseadragon-fewshot'), 'dir');
    fs.symlinkSync(
      fs.realpathSync(path.join(root, 'node_modules/openseadragon')),
      path.join(app, 'node_modules/openseadragon'),
      'dir',
    );
    const files = snippets.map((snippet, i) => {
      const file = path.join(app, `snippet-${i}${snippet.extension}`).replaceAll('\\', '/');
      // The context goes after the code, so a diagnostic's line is the snippet's own line.
      fs.writeFileSync(file, [snippet.code, ...snippet.context.map((name) => CONTEXTS[name]), ''].join('\n'));
      return file;
    });
    const config = ts.parseJsonConfigFileContent({ compilerOptions: HOST_OPTIONS, files }, ts.sys, app);
    assert.deepEqual(
      config.errors.map((d) => describe(d)),
      [],
      'the host tsconfig parses',
    );
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram({ rootNames: files, options: config.options }));
    return {
      snippets: snippets.map((snippet, i) => ({
        snippet,
        errors: diagnostics
          .filter((d) => d.file?.fileName === files[i])
          .map((d) => describe(d, (line) => `${snippet.document}:${snippet.line + line}`)),
      })),
      other: diagnostics.filter((d) => !d.file || !files.includes(d.file.fileName)).map((d) => describe(d)),
    };
  } finally {
    fs.rmSync(app, { recursive: true, force: true });
  }
}

const snippets = DOCUMENTS.flatMap((document) =>
  extractSnippets(document, fs.readFileSync(path.join(root, document), 'utf8')),
);

test('the README has TypeScript snippets to check', () => {
  assert.ok(snippets.filter((s) => s.document === 'README.md').length >= 3, 'the README snippets were found');
});

test('every README and ARCHITECTURE snippet compiles against the built package types', () => {
  ensureBuiltTypes();
  const compiled = compileSnippets(snippets);
  const failed = compiled.snippets.filter((c) => c.errors.length > 0);
  assert.equal(
    failed.length,
    0,
    failed.map((c) => `snippet at ${c.snippet.document}:${c.snippet.line}:\n  ${c.errors.join('\n  ')}`).join('\n'),
  );
  assert.deepEqual(compiled.other, [], 'the package types compile in a host app');
});

test('a snippet that does not type-check fails, naming its line: the five errors a user met', () => {
  ensureBuiltTypes();
  // The README's snippets as they were when a user found five errors in them (issue 18), with the
  // events misread: each must be reported at its own line, and nothing else.
  const markdown = [
    '```ts',
    "import OpenSeadragon from 'openseadragon';",
    "import { openInWorker, pixelTileSource } from 'openseadragon-fewshot';",
    "const viewer = OpenSeadragon({ element: 'viewer' });",
    "const slide = await openInWorker({ kind: 'url', url: 'https://example.org/slide.svs' });",
    'viewer.open(pixelTileSource(slide));',
    "document.querySelector('fewshot-segmenter')!.addEventListener('adapted', (e) => e.detail.heads);",
    '```',
    '',
    '<!-- snippet-context: viewer -->',
    '```typescript',
    "import { attachFewShot } from 'openseadragon-fewshot';",
    "const fs = await attachFewShot(viewer, { slide: { kind: 'url', url: 'https://example.org/slide.svs' } });",
    "fs.addEventListener('budget', (e) => e.detail.megapixels);",
    "viewer.open('https://example.org/slide.dzi');",
    '```',
  ].join('\n');
  const broken = extractSnippets('BROKEN.md', markdown);
  assert.deepEqual(
    broken.map((s) => [s.line, s.context]),
    [
      [2, []],
      [12, ['viewer']],
    ],
  );
  const compiled = compileSnippets(broken);
  assert.deepEqual(compiled.other, []);
  const errors = compiled.snippets.flatMap((c) => c.errors);
  const expected: [string, RegExp][] = [
    // `element` takes the HTMLElement (`id` takes the string)
    ['BROKEN.md:4:32', /Type 'string' is not assignable to type 'HTMLElement'/],
    ['BROKEN.md:6:13', /'TileSource' is not assignable to parameter of type 'TileSourceSpecifier/],
    // the panel's 'adapted' detail is an AdaptOutcome: typed, not `any`
    ['BROKEN.md:7:90', /Property 'heads' does not exist on type 'AdaptOutcome'/],
    ['BROKEN.md:14:47', /Property 'megapixels' does not exist on type 'ViewPlan'/],
    ['BROKEN.md:15:13', /Argument of type 'string' is not assignable to parameter of type 'TileSourceSpecifier/],
  ];
  assert.deepEqual(
    errors.map((e) => e.split(': ')[0]),
    expected.map(([at]) => at),
    errors.join('\n'),
  );
  expected.forEach(([, message], i) => assert.match(errors[i], message));
});

test('a fence in an unchecked language, or an unknown context, is refused', () => {
  assert.throws(() => extractSnippets('X.md', 'text\n```tsx\nconst a = 1;\n```\n'), /X\.md:2: a ```tsx block/);
  assert.throws(() => extractSnippets('X.md', '```\nconst a = 1;\n```\n'), /X\.md:1: a ```\(no language\) block/);
  assert.throws(
    () => extractSnippets('X.md', '<!-- snippet-context: nothing -->\n```ts\nconst a = 1;\n```\n'),
    /X\.md:1: unknown snippet-context 'nothing'/,
  );
  assert.deepEqual(extractSnippets('X.md', '```sh\nnpm start\n```\n'), []);
});
