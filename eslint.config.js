// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { lanesRule } from './lint/lanes.rule.js';

const NODE_GLOBALS = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'fetch',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'AbortSignal',
  ].map((g) => [g, 'readonly']),
);
const BROWSER_GLOBALS = Object.fromEntries(['window', 'document', 'navigator', 'location', 'localStorage', 'screen', 'history'].map((g) => [g, 'readonly']));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'web/dist/', 'test-results/'] },
  js.configs.recommended,
  // the recommended set without type information: type-aware rules would re-run the compiler
  // over the whole tree on every lint, and `tsc --noEmit` already runs in `npm test`
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: NODE_GLOBALS },
    plugins: { tally: { rules: { lanes: lanesRule } } },
    rules: {
      'tally/lanes': 'error',
      // `any` is off: it marks untyped JSON answers in tests and heterogeneous handler registries
      // (`JobHandler<any>`), where `unknown` would only add casts at each use, not safety
      '@typescript-eslint/no-explicit-any': 'off',
      // a leading underscore names what is there for its position (Express' 4-argument error
      // handler) or dropped from a rest copy
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `catch {}` around best-effort calls (the browser tracker's storage access) is deliberate
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  { files: ['src/ingest/tracker/tally.browser.js'], languageOptions: { globals: BROWSER_GLOBALS, sourceType: 'script' } },
  // the web console (TypeScript: the compiler, not no-undef, checks its browser globals)
  { files: ['web/src/**/*.{ts,tsx}'], languageOptions: { globals: BROWSER_GLOBALS } },
);
