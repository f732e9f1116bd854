// Lint: typescript-eslint's recommended rules (syntax only, no type information: the whole tree
// lints in seconds), the 120-column limit for what Prettier does not wrap (comments, strings),
// and the dependency direction of docs/ARCHITECTURE.md that a linter can see.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', 'test/fixtures/', 'examples/*/node_modules/', 'examples/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      // tsc checks undefined names (with the DOM, worker and Node globals each file may use).
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Code that Playwright runs inside the page (page.evaluate) sees the page's globals, which
    // this project's types do not describe.
    files: ['test/viewer-demo/**/*.ts', 'tools/screenshot.ts', 'tools/bench-view.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['core/**/*.ts', 'worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['openseadragon', 'lit', 'lit/*', '**/plugin/**'],
              message: 'core/ and worker/ have no DOM, Lit, OpenSeadragon or plugin/ code (docs/ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
);
